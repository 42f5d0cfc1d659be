// RUN: gfl-opt %s --split-input-file --gfl-autodiff --verify-diagnostics | FileCheck %s

// TB: a loss kernel over the rows it reads, and a fused gradient kernel.
// The sequences are ragged rows: trajectory b's entries are
// [offsets[b], offsets[b+1]) of a flat tensor, and the batch is the
// offsets' size - 1.
// CHECK-NOT: gfl.objective
// CHECK-LABEL: func.func @gfl_obj_tb(
// CHECK-SAME:    %[[PF:[^:]*]]: tensor<?xf32> {{.*}}gfl.name = "log_pf"
// CHECK-SAME:    %{{.*}}: tensor<?xf32> {{.*}}gfl.name = "log_pb"
// CHECK-SAME:    %{{.*}}: tensor<?xf32> {{.*}}gfl.name = "log_r"
// CHECK-SAME:    %{{.*}}: tensor<?xf32> {{.*}}gfl.name = "log_z"
// CHECK-SAME:    %{{.*}}: tensor<?xi32> {{.*}}gfl.name = "n"
// CHECK-SAME:    %{{.*}}: tensor<?xi1> {{.*}}gfl.name = "exited"
// CHECK-SAME:    %[[OFF:[^:]*]]: tensor<?xi32> {{.*}}gfl.name = "offsets"
// CHECK-SAME:    %{{.*}}: tensor<?xf32> {{.*}}gfl.name = "loss", gfl.output}
// CHECK:         %[[ENTRIES:.*]] = tensor.dim %[[OFF]], %{{.*}} : tensor<?xi32>
// CHECK:         %[[BATCH:.*]] = arith.subi %[[ENTRIES]], %{{.*}} : index
// CHECK:         scf.forall (%[[B:.*]]) in (%[[BATCH]])
// CHECK:           %[[S:.*]] = tensor.extract %[[OFF]][%[[B]]] : tensor<?xi32>
// CHECK:           %[[START:.*]] = arith.index_cast %[[S]] : i32 to index
// CHECK:           %[[B1:.*]] = arith.addi %[[B]], %{{.*}} : index
// CHECK:           %[[E:.*]] = tensor.extract %[[OFF]][%[[B1]]] : tensor<?xi32>
// CHECK:           %[[END:.*]] = arith.index_cast %[[E]] : i32 to index
// CHECK:           %[[SIZE:.*]] = arith.subi %[[END]], %[[START]] : index
// CHECK:           tensor.extract_slice %[[PF]][%[[START]]] [%[[SIZE]]] [1] : tensor<?xf32> to tensor<?xf32>
// log_pf has n + exited valid entries, log_pb n.
// CHECK:         %[[N:.*]] = arith.index_cast %{{.*}} : i32 to index
// CHECK:         %[[E:.*]] = arith.index_cast %{{.*}} : i32 to index
// CHECK:         %[[NPF:.*]] = arith.addi %[[N]], %[[E]] : index
// CHECK:         gfl.range_reduce <sum> %{{.*}} to %[[NPF]] : f32
// CHECK:         gfl.range_reduce <sum> %{{.*}} to %[[N]] : f32

// CHECK-LABEL: func.func @gfl_obj_tb_grad(
// CHECK-SAME:    gfl.name = "d_loss"
// CHECK-SAME:    gfl.name = "loss", gfl.output
// CHECK-SAME:    gfl.name = "d_log_pf", gfl.output
// CHECK-SAME:    gfl.name = "d_log_pb", gfl.output
// CHECK-SAME:    gfl.name = "d_log_z", gfl.output
// The adjoint of the square, 2 r d_loss, is spread over the valid entries.
// CHECK:         %[[B:.*]] = arith.subf
// CHECK-NEXT:    %[[R:.*]] = arith.subf %[[B]], %{{.*}} : f32
// CHECK-NEXT:    arith.mulf %[[R]], %[[R]] : f32
// CHECK-NEXT:    %[[G1:.*]] = arith.mulf %[[DL:.*]], %[[R]] : f32
// CHECK-NEXT:    %[[G2:.*]] = arith.mulf %[[DL]], %[[R]] : f32
// CHECK-NEXT:    %[[G:.*]] = arith.addf %[[G1]], %[[G2]] : f32
// CHECK:         tensor.splat %{{.*}}[%{{.*}}] : tensor<?xf32>
// CHECK:         scf.for %{{.*}} = %{{.*}} to %[[N2:.*]] step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<?xf32>)
// The loss and d log Z are one per trajectory; the sequences' gradients
// are ragged rows at the trajectory's offset.
// CHECK:         scf.forall.in_parallel
// CHECK-NEXT:      tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%[[I:.*]]] [1] [1] : tensor<1xf32>
// CHECK-NEXT:      tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%[[START:[a-z0-9_]+]]] [%{{.*}}] [1] : tensor<?xf32> into tensor<?xf32>
// CHECK-NEXT:      tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%[[START]]] [%{{.*}}] [1] : tensor<?xf32> into tensor<?xf32>
// CHECK-NEXT:      tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%[[I]]] [1] [1] : tensor<1xf32>
gfl.objective @tb {
^bb0(%t: !gfl.traj):
  %z = gfl.traj_scalar <log_z> %t : f32
  %pf = gfl.traj_seq <log_pf> %t : !gfl.seq<f32>
  %spf = gfl.seq_reduce <sum> %pf : !gfl.seq<f32> -> f32
  %a = arith.addf %z, %spf : f32
  %pb = gfl.traj_seq <log_pb> %t : !gfl.seq<f32>
  %spb = gfl.seq_reduce <sum> %pb : !gfl.seq<f32> -> f32
  %b = arith.subf %a, %spb : f32
  %lr = gfl.traj_scalar <log_r> %t : f32
  %r = arith.subf %b, %lr : f32
  %sq = arith.mulf %r, %r : f32
  gfl.yield %sq : f32
}

// -----

// Only the training objective gets a gradient kernel.
module attributes {gfl.train_objective = "a"} {
  // CHECK-LABEL: func.func @gfl_obj_a(
  // CHECK-LABEL: func.func @gfl_obj_a_grad(
  gfl.objective @a {
  ^bb0(%t: !gfl.traj):
    %z = gfl.traj_scalar <log_z> %t : f32
    gfl.yield %z : f32
  }
  // CHECK-LABEL: func.func @gfl_obj_b(
  // CHECK-NOT:   func.func @gfl_obj_b_grad
  gfl.objective @b {
  ^bb0(%t: !gfl.traj):
    %z = gfl.traj_scalar <log_z> %t : f32
    gfl.yield %z : f32
  }
}

// -----

// A loop whose body reads the trajectory: the reads are hoisted and the
// reverse loop recomputes each iteration and carries the sequence adjoint.
// CHECK-LABEL: func.func @gfl_obj_db_grad(
// CHECK:         scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<?xf32>)
// CHECK:           tensor.insert
gfl.objective @db {
^bb0(%t: !gfl.traj):
  %c0 = arith.constant 0 : index
  %n = gfl.traj_len %t : index
  %s = gfl.range_reduce <sum> %c0 to %n : f32 {
  ^bb0(%k: index):
    %f = gfl.traj_seq <log_f> %t : !gfl.seq<f32>
    %v = gfl.seq_at %f[%k] : !gfl.seq<f32>
    %sq = arith.mulf %v, %v : f32
    gfl.yield %sq : f32
  }
  gfl.yield %s : f32
}

// -----

// A batch collective splits the objective in stages: the operand per row,
// the loss given the batch value, the gradients given the summed adjoint.
// CHECK-LABEL: func.func @gfl_obj_zvar_batch(
// CHECK-SAME:    gfl.name = "batch_mean_0", gfl.output
// CHECK-LABEL: func.func @gfl_obj_zvar(
// CHECK-SAME:    %{{.*}}: tensor<?xf32> {{.*}}gfl.name = "batch_mean_0"}
// CHECK-LABEL: func.func @gfl_obj_zvar_grad(
// CHECK-SAME:    gfl.name = "d_batch_mean_0", gfl.output
// CHECK-LABEL: func.func @gfl_obj_zvar_batch_grad(
// CHECK-SAME:    gfl.name = "d_batch_mean_0"}
// CHECK-SAME:    gfl.name = "d_log_pf", gfl.output
gfl.objective @zvar {
^bb0(%t: !gfl.traj):
  %pf = gfl.traj_seq <log_pf> %t : !gfl.seq<f32>
  %z = gfl.seq_reduce <sum> %pf : !gfl.seq<f32> -> f32
  %m = gfl.batch_reduce <mean> %z : f32
  %d = arith.subf %z, %m : f32
  %sq = arith.mulf %d, %d : f32
  gfl.yield %sq : f32
}

// -----

gfl.objective @nested {
^bb0(%t: !gfl.traj):
  %lr = gfl.traj_scalar <log_r> %t : f32
  %c0 = arith.constant 0 : index
  %n = gfl.traj_len %t : index
  %s = gfl.range_reduce <sum> %c0 to %n : f32 {
  ^bb0(%k: index):
    // expected-error@+1 {{a batch collective (batch_mean, batch_sum) may only appear at the top level of an objective, outside loops and branches}}
    %m = gfl.batch_reduce <mean> %lr : f32
    gfl.yield %m : f32
  }
  gfl.yield %s : f32
}
