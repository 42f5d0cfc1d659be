// RUN: gfl-opt %s --convert-gfl-to-standard --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @reduce_sum
// CHECK:         %[[INIT:.*]] = arith.constant dense<0.000000e+00> : tensor<f32>
// CHECK:         %[[R:.*]] = linalg.reduce { arith.addf } ins(%{{.*}} : tensor<2x3xf32>) outs(%[[INIT]] : tensor<f32>) dimensions = [0, 1]
// CHECK:         %[[V:.*]] = tensor.extract %[[R]][] : tensor<f32>
// CHECK:         return %[[V]]
func.func @reduce_sum(%t: tensor<2x3xf32>) -> f32 {
  %s = gfl.reduce <sum> %t : tensor<2x3xf32> -> f32
  return %s : f32
}

// -----

// All/any work on i1 with and/or; min on ints starts at INT32_MAX.
// CHECK-LABEL: func.func @reduce_kinds
// CHECK-DAG:     %[[MAXI:.*]] = arith.constant dense<2147483647> : tensor<i32>
// CHECK-DAG:     %[[TRUE:.*]] = arith.constant dense<true> : tensor<i1>
// CHECK:         linalg.reduce { arith.andi } ins(%{{.*}} : tensor<4xi1>) outs(%[[TRUE]] : tensor<i1>)
// CHECK:         linalg.reduce { arith.minsi } ins(%{{.*}} : tensor<4xi32>) outs(%[[MAXI]] : tensor<i32>)
func.func @reduce_kinds(%b: tensor<4xi1>, %i: tensor<4xi32>) -> (i1, i32) {
  %a = gfl.reduce <all> %b : tensor<4xi1> -> i1
  %m = gfl.reduce <min> %i : tensor<4xi32> -> i32
  return %a, %m : i1, i32
}

// -----

// logsumexp of a tensor: a max pass, then the sum of exp(x - max) with the
// max replaced by 0 when it is -inf.
// CHECK-LABEL: func.func @reduce_logsumexp
// CHECK:         %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK:         linalg.reduce { arith.maximumf }
// CHECK:         %[[MAX:.*]] = tensor.extract
// CHECK:         %[[ISNEG:.*]] = arith.cmpf oeq, %[[MAX]], %{{.*}} : f32
// CHECK:         %[[SHIFT:.*]] = arith.select %[[ISNEG]], %{{.*}}, %[[MAX]] : f32
// CHECK:         linalg.reduce
// CHECK:           arith.subf %{{.*}}, %[[SHIFT]]
// CHECK:           math.exp
// CHECK:           arith.addf
// CHECK:         math.log
func.func @reduce_logsumexp(%t: tensor<5xf32>) -> f32 {
  %s = gfl.reduce <logsumexp> %t : tensor<5xf32> -> f32
  return %s : f32
}

// -----

// CHECK-LABEL: func.func @range_reduce_sum
// CHECK-SAME:    (%[[LO:.*]]: index, %[[HI:.*]]: index)
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[R:.*]] = scf.for %[[I:.*]] = %[[LO]] to %[[HI]] step %{{.*}} iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (f32) {
// CHECK:           %[[V:.*]] = arith.uitofp
// CHECK:           %[[N:.*]] = arith.addf %[[ACC]], %[[V]] : f32
// CHECK:           scf.yield %[[N]] : f32
// CHECK:         return %[[R]]
func.func @range_reduce_sum(%lo: index, %hi: index) -> f32 {
  %r = gfl.range_reduce <sum> %lo to %hi : f32 {
  ^bb0(%i: index):
    %c = arith.index_cast %i : index to i32
    %f = arith.uitofp %c : i32 to f32
    gfl.yield %f : f32
  }
  return %r : f32
}

// -----

// logsumexp over a range keeps a running (max, scaled sum) pair.
// CHECK-LABEL: func.func @range_reduce_logsumexp
// CHECK:         %[[R:.*]]:2 = scf.for {{.*}} iter_args(%[[M:.*]] = %{{.*}}, %[[S:.*]] = %{{.*}}) -> (f32, f32) {
// CHECK:           %[[NM:.*]] = arith.maximumf %[[M]], %{{.*}} : f32
// CHECK:           math.exp
// CHECK:           math.exp
// CHECK:           scf.yield %[[NM]], %{{.*}} : f32, f32
// CHECK:         math.log %[[R]]#1
func.func @range_reduce_logsumexp(%lo: index, %hi: index, %x: f32) -> f32 {
  %r = gfl.range_reduce <logsumexp> %lo to %hi : f32 {
  ^bb0(%i: index):
    gfl.yield %x : f32
  }
  return %r : f32
}

// -----

// CHECK-DAG:   #[[IN:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG:   #[[OUT:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @onehot
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<2x8xf32>
// CHECK:         linalg.generic {indexing_maps = [#[[IN]], #[[OUT]]], iterator_types = ["parallel", "parallel"]} ins(%{{.*}} : tensor<2xi32>) outs(%[[E]] : tensor<2x8xf32>)
// CHECK:           %[[K:.*]] = linalg.index 1 : index
// CHECK:           %[[KI:.*]] = arith.index_cast %[[K]] : index to i32
// CHECK:           arith.cmpi eq, %[[KI]], %{{.*}} : i32
// CHECK:           arith.select
func.func @onehot(%x: tensor<2xi32>) -> tensor<2x8xf32> {
  %h = gfl.onehot %x classes 8 : tensor<2xi32> -> tensor<2x8xf32>
  return %h : tensor<2x8xf32>
}

// -----

// Warshall: k, i, j loops carrying the matrix; r[i, k] is read once per row.
// CHECK-LABEL: func.func @closure
// CHECK-SAME:    (%[[A:.*]]: tensor<3x3xi1>)
// CHECK:         %[[C3:.*]] = arith.constant 3 : index
// CHECK:         scf.for %[[K:.*]] = %{{.*}} to %[[C3]] step %{{.*}} iter_args(%[[RK:.*]] = %[[A]])
// CHECK:           scf.for %[[I:.*]] = %{{.*}} to %[[C3]] step %{{.*}} iter_args(%[[RI:.*]] = %[[RK]])
// CHECK:             %[[IK:.*]] = tensor.extract %[[RI]][%[[I]], %[[K]]]
// CHECK:             scf.for %[[J:.*]] = %{{.*}} to %[[C3]] step %{{.*}} iter_args(%[[RJ:.*]] = %[[RI]])
// CHECK:               %[[KJ:.*]] = tensor.extract %[[RJ]][%[[K]], %[[J]]]
// CHECK:               %[[IJ:.*]] = tensor.extract %[[RJ]][%[[I]], %[[J]]]
// CHECK:               %[[P:.*]] = arith.andi %[[IK]], %[[KJ]]
// CHECK:               %[[N:.*]] = arith.ori %[[IJ]], %[[P]]
// CHECK:               tensor.insert %[[N]] into %[[RJ]][%[[I]], %[[J]]]
// CHECK-NOT:     gfl.closure
func.func @closure(%a: tensor<3x3xi1>) -> tensor<3x3xi1> {
  %r = gfl.closure %a : tensor<3x3xi1>
  return %r : tensor<3x3xi1>
}

// -----

// CHECK-LABEL: func.func @concat
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<5xf32>
// CHECK:         %[[A:.*]] = tensor.insert_slice %{{.*}} into %[[E]][0] [2] [1] : tensor<2xf32> into tensor<5xf32>
// CHECK:         %[[B:.*]] = tensor.insert_slice %{{.*}} into %[[A]][2] [3] [1] : tensor<3xf32> into tensor<5xf32>
// CHECK:         return %[[B]]
func.func @concat(%a: tensor<2xf32>, %b: tensor<3xf32>) -> tensor<5xf32> {
  %c = gfl.concat %a, %b : tensor<2xf32>, tensor<3xf32> -> tensor<5xf32>
  return %c : tensor<5xf32>
}

// -----

// CHECK-LABEL: func.func @masked_log_softmax
// CHECK:         linalg.generic {{.*}} iterator_types = ["reduction"]
// CHECK:           arith.maximumf
// CHECK:           arith.select
// CHECK:         linalg.generic {{.*}} iterator_types = ["reduction"]
// CHECK:           math.exp
// CHECK:         %[[D:.*]] = tensor.dim
// CHECK:         tensor.empty(%[[D]]) : tensor<?xf32>
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel"]
// CHECK:           arith.subf
// CHECK:           arith.select
func.func @masked_log_softmax(%l: tensor<?xf32>, %m: tensor<?xi1>) -> tensor<?xf32> {
  %r = gfl.masked_log_softmax %l, %m : tensor<?xf32>, tensor<?xi1> -> tensor<?xf32>
  return %r : tensor<?xf32>
}

// -----

// CHECK-LABEL: func.func @scalars
// CHECK-SAME:    (%[[X:.*]]: f32, %[[D:.*]]: f32)
// CHECK:         %[[A:.*]] = math.absf %[[X]] : f32
// CHECK:         %[[IN:.*]] = arith.cmpf ole, %[[A]], %[[D]] : f32
// CHECK:         %[[H:.*]] = arith.select %[[IN]]
// CHECK:         math.exp
// CHECK:         math.log
// CHECK:         return %[[X]], %[[H]]
func.func @scalars(%x: f32, %d: f32) -> (f32, f32, f32) {
  %s = gfl.stop_grad %x : f32
  %h = gfl.huber %x, %d : f32
  %l = gfl.logsumexp %x, %d : f32
  return %s, %h, %l : f32, f32, f32
}
