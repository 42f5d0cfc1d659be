// RUN: gfl-opt %s -canonicalize | FileCheck %s

// CHECK-LABEL: func.func @stop_grad_twice
// CHECK-SAME:    (%[[X:.*]]: f32)
// CHECK-NEXT:    %[[SG:.*]] = gfl.stop_grad %[[X]] : f32
// CHECK-NEXT:    return %[[SG]], %[[SG]] : f32, f32
func.func @stop_grad_twice(%x: f32) -> (f32, f32) {
  %a = gfl.stop_grad %x : f32
  %b = gfl.stop_grad %a : f32
  %c = gfl.stop_grad %b : f32
  return %a, %c : f32, f32
}

// CHECK-LABEL: func.func @stop_grad_tensor
// CHECK-NEXT:    %[[SG:.*]] = gfl.stop_grad %{{.*}} : tensor<3xf32>
// CHECK-NEXT:    return %[[SG]] : tensor<3xf32>
func.func @stop_grad_tensor(%x: tensor<3xf32>) -> tensor<3xf32> {
  %a = gfl.stop_grad %x : tensor<3xf32>
  %b = gfl.stop_grad %a : tensor<3xf32>
  return %b : tensor<3xf32>
}

// CHECK-LABEL: func.func @logsumexp_single
// CHECK-SAME:    (%[[X:.*]]: f32, %[[Y:.*]]: f32)
// CHECK-NEXT:    %[[L:.*]] = gfl.logsumexp %[[X]], %[[Y]] : f32
// CHECK-NEXT:    return %[[X]], %[[L]] : f32, f32
func.func @logsumexp_single(%x: f32, %y: f32) -> (f32, f32) {
  %a = gfl.logsumexp %x : f32
  %b = gfl.logsumexp %x, %y : f32
  return %a, %b : f32, f32
}

// A constant one-element range [2, 3) is replaced by the body at %i = 2.
// CHECK-LABEL: func.func @range_reduce_single
// CHECK-SAME:    (%[[T:.*]]: tensor<4xf32>)
// CHECK-NOT:     gfl.range_reduce
// CHECK:         %[[C2:.*]] = arith.constant 2 : index
// CHECK-NEXT:    %[[V:.*]] = tensor.extract %[[T]][%[[C2]]] : tensor<4xf32>
// CHECK-NEXT:    %[[E:.*]] = math.exp %[[V]] : f32
// CHECK-NEXT:    return %[[E]] : f32
func.func @range_reduce_single(%t: tensor<4xf32>) -> f32 {
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %r = gfl.range_reduce <sum> %c2 to %c3 : f32 {
  ^bb0(%i: index):
    %v = tensor.extract %t[%i] : tensor<4xf32>
    %e = math.exp %v : f32
    gfl.yield %e : f32
  }
  return %r : f32
}

// The body may yield its index-derived value directly.
// CHECK-LABEL: func.func @range_reduce_single_index
// CHECK-NEXT:    %[[C:.*]] = arith.constant 5 : i32
// CHECK-NEXT:    return %[[C]] : i32
func.func @range_reduce_single_index() -> i32 {
  %c5 = arith.constant 5 : index
  %c6 = arith.constant 6 : index
  %r = gfl.range_reduce <max> %c5 to %c6 : i32 {
  ^bb0(%i: index):
    %v = arith.index_cast %i : index to i32
    gfl.yield %v : i32
  }
  return %r : i32
}

// Longer or dynamic ranges stay.
// CHECK-LABEL: func.func @range_reduce_kept
// CHECK:         gfl.range_reduce <sum> %{{.*}} to %{{.*}} : f32
// CHECK:         gfl.range_reduce <sum> %{{.*}} to %{{.*}} : f32
func.func @range_reduce_kept(%t: tensor<4xf32>, %n: index) -> (f32, f32) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %r = gfl.range_reduce <sum> %c0 to %c2 : f32 {
  ^bb0(%i: index):
    %v = tensor.extract %t[%i] : tensor<4xf32>
    gfl.yield %v : f32
  }
  %s = gfl.range_reduce <sum> %c0 to %n : f32 {
  ^bb0(%i: index):
    %v = tensor.extract %t[%i] : tensor<4xf32>
    gfl.yield %v : f32
  }
  return %r, %s : f32, f32
}
