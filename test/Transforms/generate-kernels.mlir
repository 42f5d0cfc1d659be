// RUN: gfl-opt %s --gfl-generate-kernels | FileCheck %s
// RUN: gfl-opt %s --gfl-generate-kernels --canonicalize | FileCheck %s --check-prefix=CANON

// A counter in [0, 4) that adds 1 or 2 (action family "add"), may stop, and
// ends by itself at 3.

gfl.env @counter {
  gfl.state "n" : i32 domain [0, 4) init 0 : i32
  gfl.action "add" params [1, 3) guard {
  ^bb0(%n: i32, %k: i32):
    %s = arith.addi %n, %k : i32
    %four = arith.constant 4 : i32
    %ok = arith.cmpi slt, %s, %four : i32
    gfl.yield %ok : i1
  } update {
  ^bb0(%n: i32, %k: i32):
    %s = arith.addi %n, %k : i32
    gfl.yield %s : i32
  } undo {
  ^bb0(%n: i32, %k: i32):
    %s = arith.subi %n, %k : i32
    gfl.yield %s : i32
  }
  gfl.stop
  gfl.terminal {
  ^bb0(%n: i32):
    %three = arith.constant 3 : i32
    %t = arith.cmpi eq, %n, %three : i32
    gfl.yield %t : i1
  }
  gfl.log_reward {
  ^bb0(%n: i32):
    %f = arith.sitofp %n : i32 to f32
    gfl.yield %f : f32
  }
  gfl.features size 4 {
  ^bb0(%n: i32):
    %h = gfl.onehot %n classes 4 : i32 -> tensor<4xf32>
    gfl.yield %h : tensor<4xf32>
  }
}

// The env becomes kernels; what the runtime needs is kept on the module.
// CHECK: module attributes {gfl.num_actions = 3 : i64, gfl.num_backward_actions = 2 : i64, gfl.state_count = 4 : i64}
// CHECK-NOT: gfl.env

// Outputs are destination tensors, returned, marked writable and gfl.output.
// CHECK-LABEL: func.func @gfl_init
// CHECK-SAME:    (%[[OUT:.*]]: tensor<?xi32> {bufferization.writable = true, gfl.name = "state.n", gfl.output}) -> tensor<?xi32> attributes {llvm.emit_c_interface}
// CHECK:         %[[B:.*]] = tensor.dim %[[OUT]], %{{.*}} : tensor<?xi32>
// CHECK:         scf.forall (%[[I:.*]]) in (%[[B]]) shared_outs(%[[ACC:.*]] = %[[OUT]]) -> (tensor<?xi32>) {
// CHECK:           tensor.parallel_insert_slice %{{.*}} into %[[ACC]][%[[I]]] [1] [1] : tensor<1xi32> into tensor<?xi32>

// CHECK-LABEL: func.func @gfl_terminal
// CHECK-SAME:    gfl.name = "state.n"
// CHECK-SAME:    gfl.name = "terminal", gfl.output

// The forward mask loops over each family's parameters and adds the exit;
// a terminal state allows nothing.
// CHECK-LABEL: func.func @gfl_forward_mask
// CHECK-SAME:    tensor<?x3xi1>
// The row is filled in a stack buffer, one loop per family, then read as a
// tensor.
// CHECK:         %[[BUF:.*]] = memref.alloca() : memref<3xi1>
// CHECK:         scf.for
// CHECK:           memref.store %{{.*}}, %[[BUF]][%{{.*}}] : memref<3xi1>
// CHECK:         %[[ROW:.*]] = bufferization.to_tensor %[[BUF]] restrict writable : memref<3xi1>
// CHECK:         %[[EXIT:.*]] = tensor.insert %{{.*}} into %[[ROW]][%{{.*}}] : tensor<3xi1>
// CHECK:         %[[TERM:.*]] = arith.cmpi eq
// CHECK:         arith.select %[[TERM]], %{{.*}}, %[[EXIT]] : tensor<3xi1>

// The step dispatches on the flat action: family "add" covers [0, 2), 2 is
// the exit; done = exit or terminal(next).
// CHECK-LABEL: func.func @gfl_step
// CHECK-SAME:    gfl.name = "action"
// CHECK-SAME:    gfl.name = "next.n", gfl.output
// CHECK-SAME:    gfl.name = "done", gfl.output
// One flat switch over the action families (case 0: inc); the exit and
// out-of-range actions take the default case and leave the state as it is.
// CHECK:         %[[NEXT:.*]] = scf.index_switch %{{.*}} -> i32
// CHECK-NEXT:    case 0 {
// CHECK:           arith.addi
// CHECK:         default {
// CHECK-NEXT:      scf.yield %{{.*}} : i32
// CHECK:         arith.ori

// A backward action is valid when undo gives an in-domain, non-terminal
// state that allows the action and steps back to the same state.
// CHECK-LABEL: func.func @gfl_backward_mask
// CHECK-SAME:    tensor<?x2xi1>
// CHECK:         arith.subi
// CHECK:         arith.cmpi sge
// CHECK:         arith.cmpi slt
// CHECK:         arith.xori
// CHECK:         arith.addi
// CHECK:         arith.cmpi eq

// CHECK-LABEL: func.func @gfl_backward_step
// CHECK:         scf.index_switch
// CHECK:           arith.subi

// CHECK-LABEL: func.func @gfl_log_reward
// CHECK:         arith.sitofp
// Log edge flows for flow matching: out of the row over the allowed actions,
// into it over the allowed parents (entry (j, j) of the parent logits), and
// the exit logit; the gradient kernel writes both logit rows.
// CHECK-LABEL: func.func @gfl_edge_flows(
// CHECK-SAME:    tensor<?x3xf32> {{.*}}"logits"
// CHECK-SAME:    tensor<?x2x3xf32> {{.*}}"parent_logits"
// CHECK-SAME:    tensor<?x2xi1> {{.*}}"parent_mask"
// CHECK-SAME:    "log_in_flow", gfl.output
// CHECK:         gfl.range_reduce <logsumexp> %{{.*}} to %{{.*}} : f32
// CHECK:         gfl.range_reduce <logsumexp> %{{.*}} to %{{.*}} : f32
// CHECK:           %[[J:.*]] = arith.minsi
// CHECK:           %[[A:.*]] = arith.minsi
// CHECK:           tensor.extract %{{.*}}[%[[J]], %[[A]]] : tensor<2x3xf32>
// CHECK:         arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK-LABEL: func.func @gfl_edge_flows_grad(
// CHECK-SAME:    "d_log_exit_flow"
// CHECK-SAME:    "d_parent_logits", gfl.output
// CHECK:         tensor.generate
// CHECK:           math.exp
// CHECK:         tensor.generate
// CHECK:           arith.cmpi eq
// CHECK-LABEL: func.func @gfl_features
// CHECK:         gfl.onehot %{{.*}} classes 4 : i32 -> tensor<4xf32>

// The fused sampling step: Philox (10 rounds of two 32x32 products),
// inverse CDF, step, features.
// CHECK-LABEL: func.func @gfl_sample_step
// CHECK-SAME:    gfl.name = "logits"
// CHECK-SAME:    gfl.name = "ended"
// CHECK-SAME:    %{{.*}}: i64 {gfl.name = "seed"}
// CHECK-SAME:    %{{.*}}: tensor<1xi64> {bufferization.writable = false, gfl.name = "iteration"}
// CHECK-SAME:    %{{.*}}: i64 {gfl.name = "step"}
// CHECK-SAME:    %{{.*}}: i64 {gfl.name = "stream"}
// CHECK-SAME:    %{{.*}}: tensor<1xf32> {bufferization.writable = false, gfl.name = "epsilon"}
// CHECK-SAME:    %{{.*}}: tensor<1xf32> {bufferization.writable = false, gfl.name = "temperature"}
// CHECK-SAME:    gfl.name = "action", gfl.output
// CHECK-SAME:    gfl.name = "log_pf", gfl.output
// CHECK-COUNT-20: arith.mului_extended
// CHECK:         gfl.onehot

// The backward step: P_B logits, the backward mask, the same Philox draw,
// the undo, and whether the walk reached s0 (or is stuck).
// CHECK-LABEL: func.func @gfl_sample_backward_step
// CHECK-SAME:    gfl.name = "logits"
// CHECK-SAME:    %{{.*}}: tensor<1xi64> {bufferization.writable = false, gfl.name = "iteration"}
// CHECK-SAME:    %{{.*}}: i64 {gfl.name = "stream"}
// CHECK-SAME:    gfl.name = "prev.n", gfl.output
// CHECK-SAME:    gfl.name = "log_pb", gfl.output
// CHECK-SAME:    gfl.name = "done", gfl.output
// CHECK-SAME:    gfl.name = "stuck", gfl.output
// CHECK-COUNT-20: arith.mului_extended

// One Philox uniform per row, and the local-search acceptance (one more).
// CHECK-LABEL: func.func @gfl_uniform
// CHECK-SAME:    gfl.name = "u", gfl.output
// CHECK-COUNT-10: arith.mului_extended
// CHECK-LABEL: func.func @gfl_ls_accept
// CHECK-SAME:    gfl.name = "n_new"
// CHECK-SAME:    gfl.name = "greedy"
// CHECK-SAME:    gfl.name = "backtrack"
// CHECK-SAME:    gfl.name = "accept", gfl.output
// CHECK-SAME:    gfl.name = "log_accept", gfl.output
// CHECK:         arith.minimumf
// CHECK-COUNT-10: arith.mului_extended
// CHECK:         math.log

// Enumerable: every field is an int with a domain (4 states).
// CHECK-LABEL: func.func @gfl_state_index
// CHECK-SAME:    tensor<?xi64>
// CHECK-LABEL: func.func @gfl_state_decode

// After canonicalization the row of the init kernel is the constant 0.
// CANON-LABEL: func.func @gfl_init
// CANON:         %[[ZERO:.*]] = arith.constant dense<0> : tensor<1xi32>
// CANON:         tensor.parallel_insert_slice %[[ZERO]]
