// RUN: gfl-opt %s --split-input-file --gfl-kernels-to-gpu --verify-diagnostics | FileCheck %s

// A bufferized kernel: setup, the batch loop, return. It becomes a gpu.func
// with the same arguments; the thread's row runs the body under a bound
// check; the per-row temporary becomes thread-local; the global it reads is
// copied into the GPU module and the host function is gone.

memref.global "private" constant @table : memref<2xf32> = dense<[1.0, 2.0]>

func.func @gfl_scale(%x: memref<?x2xf32> {gfl.name = "x"},
                     %s: f32 {gfl.name = "s"},
                     %y: memref<?x2xf32> {gfl.name = "y", gfl.output})
    attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %t = memref.get_global @table : memref<2xf32>
  %n = memref.dim %y, %c0 : memref<?x2xf32>
  scf.forall (%i) in (%n) {
    %tmp = memref.alloc() : memref<2xf32>
    %c1 = arith.constant 1 : index
    %v = memref.load %x[%i, %c1] : memref<?x2xf32>
    %w = memref.load %t[%c1] : memref<2xf32>
    %p = arith.mulf %v, %s : f32
    %q = arith.mulf %p, %w : f32
    memref.store %q, %tmp[%c1] : memref<2xf32>
    memref.store %q, %y[%i, %c1] : memref<?x2xf32>
  }
  return
}

// CHECK: module attributes {gpu.container_module}
// CHECK-NOT: func.func
// CHECK: gpu.module @gfl_cuda {
// CHECK:   memref.global "private" constant @table
// CHECK:   gpu.func @gfl_scale(%[[X:.*]]: memref<?x2xf32> {gfl.name = "x"}, %[[S:.*]]: f32 {gfl.name = "s"}, %[[Y:.*]]: memref<?x2xf32> {gfl.name = "y", gfl.output}) kernel {
// CHECK:     memref.get_global @table
// CHECK:     %[[N:.*]] = memref.dim %[[Y]]
// CHECK:     %[[B:.*]] = gpu.block_id x
// CHECK:     %[[D:.*]] = gpu.block_dim x
// CHECK:     %[[TH:.*]] = gpu.thread_id x
// CHECK:     %[[BD:.*]] = arith.muli %[[B]], %[[D]]
// CHECK:     %[[ROW:.*]] = arith.addi %[[BD]], %[[TH]]
// CHECK:     %[[IN:.*]] = arith.cmpi ult, %[[ROW]], %[[N]]
// CHECK:     scf.if %[[IN]] {
// CHECK:       memref.alloca() : memref<2xf32>
// CHECK:       memref.load %[[X]][%[[ROW]], %{{.*}}]
// CHECK:       memref.store %{{.*}}, %[[Y]][%[[ROW]], %{{.*}}]
// CHECK:     }
// CHECK:     gpu.return
// CHECK-NOT: func.func

// -----

// Integer-power helpers that a kernel calls come along.
func.func private @helper(%a: f32) -> f32 {
  %r = arith.mulf %a, %a : f32
  return %r : f32
}

func.func @gfl_square(%y: memref<?xf32> {gfl.name = "y", gfl.output})
    attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %n = memref.dim %y, %c0 : memref<?xf32>
  scf.forall (%i) in (%n) {
    %v = memref.load %y[%i] : memref<?xf32>
    %r = func.call @helper(%v) : (f32) -> f32
    memref.store %r, %y[%i] : memref<?xf32>
  }
  return
}

// CHECK: gpu.module @gfl_cuda
// CHECK:   func.func private @helper
// CHECK:   gpu.func @gfl_square
// CHECK:     func.call @helper

// -----

// expected-error @+1 {{cannot map to the GPU: a kernel needs exactly one one-dimensional batch loop}}
func.func @gfl_two_loops(%y: memref<?xf32>) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %n = memref.dim %y, %c0 : memref<?xf32>
  scf.forall (%i) in (%n) {
  }
  scf.forall (%i) in (%n) {
  }
  return
}

// -----

func.func @gfl_side_effect(%y: memref<?xf32>) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %f = arith.constant 0.0 : f32
  // expected-error @+1 {{cannot map to the GPU: only pure setup may precede the batch loop}}
  memref.store %f, %y[%c0] : memref<?xf32>
  %n = memref.dim %y, %c0 : memref<?xf32>
  scf.forall (%i) in (%n) {
  }
  return
}

// -----

// expected-error @+1 {{cannot map to the GPU: the kernel has no batch loop}}
func.func @gfl_no_loop(%y: memref<?xf32>) attributes {llvm.emit_c_interface} {
  return
}

// -----

func.func @gfl_offset(%y: memref<?xf32>) attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %y, %c0 : memref<?xf32>
  // expected-error @+1 {{cannot map to the GPU: the batch loop must start at 0 with step 1}}
  scf.forall (%i) = (%c1) to (%n) step (%c1) {
  }
  return
}
