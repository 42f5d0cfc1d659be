// RUN: gfl-opt %s | gfl-opt | FileCheck %s
// RUN: gfl-opt %s -mlir-print-op-generic | gfl-opt | FileCheck %s

// Round trip of every gfl op and type.

// The hypergrid environment of the brief: D = 2, H = 8.
gfl.env @hypergrid {
  gfl.state "x" : tensor<2xi32> domain [0, 8) init dense<0> : tensor<2xi32>
  gfl.action "inc" params [0, 2) guard {
  ^bb0(%x: tensor<2xi32>, %d: i32):
    %i = arith.index_cast %d : i32 to index
    %v = tensor.extract %x[%i] : tensor<2xi32>
    %c7 = arith.constant 7 : i32
    %ok = arith.cmpi slt, %v, %c7 : i32
    gfl.yield %ok : i1
  } update {
  ^bb0(%x: tensor<2xi32>, %d: i32):
    %i = arith.index_cast %d : i32 to index
    %v = tensor.extract %x[%i] : tensor<2xi32>
    %c1 = arith.constant 1 : i32
    %nv = arith.addi %v, %c1 : i32
    %nx = tensor.insert %nv into %x[%i] : tensor<2xi32>
    gfl.yield %nx : tensor<2xi32>
  }
  gfl.stop
  gfl.log_reward {
  ^bb0(%x: tensor<2xi32>):
    %xf = arith.sitofp %x : tensor<2xi32> to tensor<2xf32>
    %c7 = arith.constant dense<7.0> : tensor<2xf32>
    %q = arith.divf %xf, %c7 : tensor<2xf32>
    %half = arith.constant dense<0.5> : tensor<2xf32>
    %s = arith.subf %q, %half : tensor<2xf32>
    %a = math.absf %s : tensor<2xf32>
    %t1 = arith.constant dense<0.25> : tensor<2xf32>
    %t2 = arith.constant dense<0.3> : tensor<2xf32>
    %t3 = arith.constant dense<0.4> : tensor<2xf32>
    %g1 = arith.cmpf ogt, %a, %t1 : tensor<2xf32>
    %g2 = arith.cmpf ogt, %a, %t2 : tensor<2xf32>
    %g3 = arith.cmpf olt, %a, %t3 : tensor<2xf32>
    %g23 = arith.andi %g2, %g3 : tensor<2xi1>
    %all1 = gfl.reduce <all> %g1 : tensor<2xi1> -> i1
    %all2 = gfl.reduce <all> %g23 : tensor<2xi1> -> i1
    %b1 = arith.uitofp %all1 : i1 to f32
    %b2 = arith.uitofp %all2 : i1 to f32
    %r0 = arith.constant 0.1 : f32
    %r1 = arith.constant 0.5 : f32
    %r2 = arith.constant 2.0 : f32
    %m1 = arith.mulf %r1, %b1 : f32
    %m2 = arith.mulf %r2, %b2 : f32
    %s1 = arith.addf %r0, %m1 : f32
    %r = arith.addf %s1, %m2 : f32
    %lr = math.log %r : f32
    gfl.yield %lr : f32
  }
  gfl.features size 16 {
  ^bb0(%x: tensor<2xi32>):
    %h = gfl.onehot %x classes 8 : tensor<2xi32> -> tensor<2x8xf32>
    %f = tensor.collapse_shape %h [[0, 1]] : tensor<2x8xf32> into tensor<16xf32>
    gfl.yield %f : tensor<16xf32>
  }
}

// CHECK-LABEL: gfl.env @hypergrid {
// CHECK-NEXT:    gfl.state "x" : tensor<2xi32> domain [0, 8) init dense<0> : tensor<2xi32>
// CHECK-NEXT:    gfl.action "inc" params [0, 2) guard {
// CHECK-NEXT:    ^bb0(%[[X:.*]]: tensor<2xi32>, %[[D:.*]]: i32):
// CHECK:           %[[V:.*]] = tensor.extract %[[X]][%{{.*}}] : tensor<2xi32>
// CHECK:           %[[OK:.*]] = arith.cmpi slt, %[[V]], %{{.*}} : i32
// CHECK-NEXT:      gfl.yield %[[OK]] : i1
// CHECK-NEXT:    } update {
// CHECK-NEXT:    ^bb0(%{{.*}}: tensor<2xi32>, %{{.*}}: i32):
// CHECK:           %[[NX:.*]] = tensor.insert
// CHECK-NEXT:      gfl.yield %[[NX]] : tensor<2xi32>
// CHECK-NEXT:    }
// CHECK-NEXT:    gfl.stop
// CHECK-NEXT:    gfl.log_reward {
// CHECK-NEXT:    ^bb0(%{{.*}}: tensor<2xi32>):
// CHECK:           gfl.reduce <all> %{{.*}} : tensor<2xi1> -> i1
// CHECK:           gfl.yield %{{.*}} : f32
// CHECK-NEXT:    }
// CHECK-NEXT:    gfl.features size 16 {
// CHECK-NEXT:    ^bb0(%[[FX:.*]]: tensor<2xi32>):
// CHECK-NEXT:      %[[H:.*]] = gfl.onehot %[[FX]] classes 8 : tensor<2xi32> -> tensor<2x8xf32>
// CHECK-NEXT:      %[[F:.*]] = tensor.collapse_shape %[[H]] {{\[\[}}0, 1]] : tensor<2x8xf32> into tensor<16xf32>
// CHECK-NEXT:      gfl.yield %[[F]] : tensor<16xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:  }

// Conditions: the reward takes them after the state.
gfl.env @tempered {
  gfl.state "n" : i32 domain [0, 4) init 0 : i32
  gfl.condition "beta" : f32 from "loguniform" [1.0, 4.0] value [2.0]
  gfl.condition "w" : tensor<2xf32> from "dirichlet" [1.0, 0.5] value [0.5, 0.5]
  gfl.stop
  gfl.log_reward {
  ^bb0(%n: i32, %beta: f32, %w: tensor<2xf32>):
    %nf = arith.sitofp %n : i32 to f32
    %r = arith.mulf %beta, %nf : f32
    gfl.yield %r : f32
  }
}

// CHECK-LABEL: gfl.env @tempered {
// CHECK-NEXT:    gfl.state "n"
// CHECK-NEXT:    gfl.condition "beta" : f32 from "loguniform" [1.000000e+00, 4.000000e+00] value [2.000000e+00]
// CHECK-NEXT:    gfl.condition "w" : tensor<2xf32> from "dirichlet" [1.000000e+00, 5.000000e-01] value [5.000000e-01, 5.000000e-01]
// CHECK-NEXT:    gfl.stop
// CHECK-NEXT:    gfl.log_reward {
// CHECK-NEXT:    ^bb0(%{{.*}}: i32, %{{.*}}: f32, %{{.*}}: tensor<2xf32>):

// Scalar states, a two-parameter family, a family without parameters, an
// explicit undo, a guarded stop and a terminal condition.
gfl.env @misc {
  gfl.state "n" : i32 domain [0, 10) init 3 : i32
  gfl.state "done" : i1 init false
  gfl.state "w" : f32 init 5.000000e-01 : f32
  gfl.state "grid" : tensor<2x3xf32> init dense<1.000000e+00> : tensor<2x3xf32>
  gfl.action "set" params [0, 2), [1, 4) guard {
  ^bb0(%n: i32, %done: i1, %w: f32, %g: tensor<2x3xf32>, %p: i32, %q: i32):
    %t = arith.constant true
    gfl.yield %t : i1
  } update {
  ^bb0(%n: i32, %done: i1, %w: f32, %g: tensor<2x3xf32>, %p: i32, %q: i32):
    %n1 = arith.addi %n, %q : i32
    gfl.yield %n1, %done, %w, %g : i32, i1, f32, tensor<2x3xf32>
  } undo {
  ^bb0(%n: i32, %done: i1, %w: f32, %g: tensor<2x3xf32>, %p: i32, %q: i32):
    %n1 = arith.subi %n, %q : i32
    gfl.yield %n1, %done, %w, %g : i32, i1, f32, tensor<2x3xf32>
  }
  gfl.action "finish" guard {
  ^bb0(%n: i32, %done: i1, %w: f32, %g: tensor<2x3xf32>):
    %t = arith.constant true
    %nd = arith.xori %done, %t : i1
    gfl.yield %nd : i1
  } update {
  ^bb0(%n: i32, %done: i1, %w: f32, %g: tensor<2x3xf32>):
    %t = arith.constant true
    gfl.yield %n, %t, %w, %g : i32, i1, f32, tensor<2x3xf32>
  }
  gfl.stop guard {
  ^bb0(%n: i32, %done: i1, %w: f32, %g: tensor<2x3xf32>):
    gfl.yield %done : i1
  }
  gfl.terminal {
  ^bb0(%n: i32, %done: i1, %w: f32, %g: tensor<2x3xf32>):
    %c9 = arith.constant 9 : i32
    %end = arith.cmpi sge, %n, %c9 : i32
    gfl.yield %end : i1
  }
  gfl.log_reward {
  ^bb0(%n: i32, %done: i1, %w: f32, %g: tensor<2x3xf32>):
    %s = gfl.reduce <sum> %g : tensor<2x3xf32> -> f32
    %l = gfl.reduce <logsumexp> %g : tensor<2x3xf32> -> f32
    %c0 = arith.constant 0 : index
    %c3 = arith.constant 3 : index
    %p = gfl.range_reduce <prod> %c0 to %c3 : i32 {
    ^bb0(%i: index):
      %ii = arith.index_cast %i : index to i32
      gfl.yield %ii : i32
    }
    %any = gfl.range_reduce <any> %c0 to %c3 : i1 {
    ^bb0(%i: index):
      %v = tensor.extract %g[%c0, %i] : tensor<2x3xf32>
      %z = arith.constant 0.0 : f32
      %pos = arith.cmpf ogt, %v, %z : f32
      gfl.yield %pos : i1
    }
    %pf = arith.sitofp %p : i32 to f32
    %a = arith.addf %s, %l : f32
    %b = arith.addf %a, %pf : f32
    %r = arith.addf %b, %w : f32
    gfl.yield %r : f32
  }
  gfl.features size 13 {
  ^bb0(%n: i32, %done: i1, %w: f32, %g: tensor<2x3xf32>):
    %h = gfl.onehot %n classes 10 : i32 -> tensor<10xf32>
    %ws = tensor.from_elements %w, %w, %w : tensor<3xf32>
    %f = gfl.concat %h, %ws : tensor<10xf32>, tensor<3xf32> -> tensor<13xf32>
    gfl.yield %f : tensor<13xf32>
  }
}

// CHECK-LABEL: gfl.env @misc {
// CHECK-NEXT:    gfl.state "n" : i32 domain [0, 10) init 3 : i32
// CHECK-NEXT:    gfl.state "done" : i1 init false
// CHECK-NEXT:    gfl.state "w" : f32 init 5.000000e-01 : f32
// CHECK-NEXT:    gfl.state "grid" : tensor<2x3xf32> init dense<1.000000e+00> : tensor<2x3xf32>
// CHECK-NEXT:    gfl.action "set" params [0, 2), [1, 4) guard {
// CHECK-NEXT:    ^bb0(%{{.*}}: i32, %{{.*}}: i1, %{{.*}}: f32, %{{.*}}: tensor<2x3xf32>, %{{.*}}: i32, %{{.*}}: i32):
// CHECK:         } update {
// CHECK:           gfl.yield %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : i32, i1, f32, tensor<2x3xf32>
// CHECK-NEXT:    } undo {
// CHECK:           arith.subi
// CHECK:         }
// CHECK-NEXT:    gfl.action "finish" guard {
// CHECK-NEXT:    ^bb0(%{{.*}}: i32, %{{.*}}: i1, %{{.*}}: f32, %{{.*}}: tensor<2x3xf32>):
// CHECK:         } update {
// CHECK:         gfl.stop guard {
// CHECK-NEXT:    ^bb0(%{{.*}}: i32, %[[DONE:.*]]: i1, %{{.*}}: f32, %{{.*}}: tensor<2x3xf32>):
// CHECK-NEXT:      gfl.yield %[[DONE]] : i1
// CHECK-NEXT:    }
// CHECK-NEXT:    gfl.terminal {
// CHECK:           gfl.yield %{{.*}} : i1
// CHECK:         gfl.log_reward {
// CHECK:           gfl.reduce <sum> %{{.*}} : tensor<2x3xf32> -> f32
// CHECK:           gfl.reduce <logsumexp> %{{.*}} : tensor<2x3xf32> -> f32
// CHECK:           gfl.range_reduce <prod> %{{.*}} to %{{.*}} : i32 {
// CHECK-NEXT:      ^bb0(%[[I:.*]]: index):
// CHECK-NEXT:        %[[II:.*]] = arith.index_cast %[[I]] : index to i32
// CHECK-NEXT:        gfl.yield %[[II]] : i32
// CHECK-NEXT:      }
// CHECK:           gfl.range_reduce <any> %{{.*}} to %{{.*}} : i1 {
// CHECK:         gfl.features size 13 {
// CHECK:           gfl.onehot %{{.*}} classes 10 : i32 -> tensor<10xf32>
// CHECK:           gfl.concat %{{.*}}, %{{.*}} : tensor<10xf32>, tensor<3xf32> -> tensor<13xf32>

// Trajectory balance.
gfl.objective @tb {
^bb0(%t: !gfl.traj):
  %logz = gfl.traj_scalar <log_z> %t : f32
  %pf = gfl.traj_seq <log_pf> %t : !gfl.seq<f32>
  %pb = gfl.traj_seq <log_pb> %t : !gfl.seq<f32>
  %lr = gfl.traj_scalar <log_r> %t : f32
  %spf = gfl.seq_reduce <sum> %pf : !gfl.seq<f32> -> f32
  %spb = gfl.seq_reduce <sum> %pb : !gfl.seq<f32> -> f32
  %a = arith.addf %logz, %spf : f32
  %b = arith.subf %a, %spb : f32
  %c = arith.subf %b, %lr : f32
  %l = arith.mulf %c, %c : f32
  gfl.yield %l : f32
}

// CHECK-LABEL: gfl.objective @tb {
// CHECK-NEXT:  ^bb0(%[[T:.*]]: !gfl.traj):
// CHECK-NEXT:    %[[LOGZ:.*]] = gfl.traj_scalar <log_z> %[[T]] : f32
// CHECK-NEXT:    %[[PF:.*]] = gfl.traj_seq <log_pf> %[[T]] : !gfl.seq<f32>
// CHECK-NEXT:    %[[PB:.*]] = gfl.traj_seq <log_pb> %[[T]] : !gfl.seq<f32>
// CHECK-NEXT:    %[[LR:.*]] = gfl.traj_scalar <log_r> %[[T]] : f32
// CHECK-NEXT:    %[[SPF:.*]] = gfl.seq_reduce <sum> %[[PF]] : !gfl.seq<f32> -> f32
// CHECK-NEXT:    %[[SPB:.*]] = gfl.seq_reduce <sum> %[[PB]] : !gfl.seq<f32> -> f32
// CHECK-NEXT:    %[[A:.*]] = arith.addf %[[LOGZ]], %[[SPF]] : f32
// CHECK-NEXT:    %[[B:.*]] = arith.subf %[[A]], %[[SPB]] : f32
// CHECK-NEXT:    %[[C:.*]] = arith.subf %[[B]], %[[LR]] : f32
// CHECK-NEXT:    %[[L:.*]] = arith.mulf %[[C]], %[[C]] : f32
// CHECK-NEXT:    gfl.yield %[[L]] : f32
// CHECK-NEXT:  }

// The remaining objective ops.
gfl.objective @misc_objective defaults [5.000000e-01 : f32, 2 : i32, true] {
^bb0(%t: !gfl.traj, %lambda: f32, %k: i32, %flag: i1):
  %n = gfl.traj_len %t : index
  %c0 = arith.constant 0 : index
  %lf = gfl.traj_seq <log_f> %t : !gfl.seq<f32>
  %rs = gfl.traj_seq <log_r_step> %t : !gfl.seq<f32>
  %en = gfl.traj_seq <energy> %t : !gfl.seq<f32>
  %cs = gfl.seq_cumsum %lf : !gfl.seq<f32>
  %s = gfl.range_reduce <logsumexp> %c0 to %n : f32 {
  ^bb0(%i: index):
    %v = gfl.seq_at %cs[%i] : !gfl.seq<f32>
    %w = gfl.seq_at %rs[%i] : !gfl.seq<f32>
    %vw = arith.addf %v, %w : f32
    gfl.yield %vw : f32
  }
  %emax = gfl.seq_reduce <max> %en : !gfl.seq<f32> -> f32
  %lse = gfl.logsumexp %s, %lambda, %emax : f32
  %sg = gfl.stop_grad %lse : f32
  %one = arith.constant 1.0 : f32
  %h = gfl.huber %sg, %one : f32
  %m = gfl.batch_reduce <mean> %h : f32
  %tot = gfl.batch_reduce <sum> %m : f32
  gfl.yield %tot : f32
}

// CHECK-LABEL: gfl.objective @misc_objective defaults [5.000000e-01 : f32, 2 : i32, true] {
// CHECK-NEXT:  ^bb0(%[[T:.*]]: !gfl.traj, %[[LAMBDA:.*]]: f32, %{{.*}}: i32, %{{.*}}: i1):
// CHECK-NEXT:    %[[N:.*]] = gfl.traj_len %[[T]] : index
// CHECK:         %[[LF:.*]] = gfl.traj_seq <log_f> %[[T]] : !gfl.seq<f32>
// CHECK-NEXT:    %[[RS:.*]] = gfl.traj_seq <log_r_step> %[[T]] : !gfl.seq<f32>
// CHECK-NEXT:    %[[EN:.*]] = gfl.traj_seq <energy> %[[T]] : !gfl.seq<f32>
// CHECK-NEXT:    %[[CS:.*]] = gfl.seq_cumsum %[[LF]] : !gfl.seq<f32>
// CHECK-NEXT:    %[[S:.*]] = gfl.range_reduce <logsumexp> %{{.*}} to %[[N]] : f32 {
// CHECK-NEXT:    ^bb0(%[[I:.*]]: index):
// CHECK-NEXT:      %{{.*}} = gfl.seq_at %[[CS]][%[[I]]] : !gfl.seq<f32>
// CHECK-NEXT:      %{{.*}} = gfl.seq_at %[[RS]][%[[I]]] : !gfl.seq<f32>
// CHECK:           gfl.yield %{{.*}} : f32
// CHECK-NEXT:    }
// CHECK-NEXT:    %[[EMAX:.*]] = gfl.seq_reduce <max> %[[EN]] : !gfl.seq<f32> -> f32
// CHECK-NEXT:    %[[LSE:.*]] = gfl.logsumexp %[[S]], %[[LAMBDA]], %[[EMAX]] : f32
// CHECK-NEXT:    %[[SG:.*]] = gfl.stop_grad %[[LSE]] : f32
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:    %[[H:.*]] = gfl.huber %[[SG]], %[[ONE]] : f32
// CHECK-NEXT:    %[[M:.*]] = gfl.batch_reduce <mean> %[[H]] : f32
// CHECK-NEXT:    %[[TOT:.*]] = gfl.batch_reduce <sum> %[[M]] : f32
// CHECK-NEXT:    gfl.yield %[[TOT]] : f32
// CHECK-NEXT:  }

// Ops used outside environments and objectives (sampling kernels), and
// sequences of i32 and i1.
// CHECK-LABEL: func.func @kernels
func.func @kernels(%logits: tensor<4xf32>, %mask: tensor<4xi1>,
                   %dl: tensor<?xf32>, %dm: tensor<?xi1>,
                   %g: tensor<3xf32>, %si: !gfl.seq<i32>, %sb: !gfl.seq<i1>,
                   %k: index)
    -> (tensor<4xf32>, tensor<?xf32>, tensor<3xf32>, i32, i32, i1, !gfl.seq<i32>) {
  // CHECK: gfl.masked_log_softmax %{{.*}}, %{{.*}} : tensor<4xf32>, tensor<4xi1> -> tensor<4xf32>
  %lp = gfl.masked_log_softmax %logits, %mask : tensor<4xf32>, tensor<4xi1> -> tensor<4xf32>
  // CHECK: gfl.masked_log_softmax %{{.*}}, %{{.*}} : tensor<?xf32>, tensor<?xi1> -> tensor<?xf32>
  %dlp = gfl.masked_log_softmax %dl, %dm : tensor<?xf32>, tensor<?xi1> -> tensor<?xf32>
  // CHECK: gfl.stop_grad %{{.*}} : tensor<3xf32>
  %sg = gfl.stop_grad %g : tensor<3xf32>
  // CHECK: gfl.seq_reduce <prod> %{{.*}} : !gfl.seq<i32> -> i32
  %p = gfl.seq_reduce <prod> %si : !gfl.seq<i32> -> i32
  // CHECK: gfl.seq_at %{{.*}}[%{{.*}}] : !gfl.seq<i32>
  %e = gfl.seq_at %si[%k] : !gfl.seq<i32>
  // CHECK: gfl.seq_reduce <any> %{{.*}} : !gfl.seq<i1> -> i1
  %a = gfl.seq_reduce <any> %sb : !gfl.seq<i1> -> i1
  // CHECK: gfl.seq_cumsum %{{.*}} : !gfl.seq<i32>
  %c = gfl.seq_cumsum %si : !gfl.seq<i32>
  return %lp, %dlp, %sg, %p, %e, %a, %c
      : tensor<4xf32>, tensor<?xf32>, tensor<3xf32>, i32, i32, i1, !gfl.seq<i32>
}

// CHECK-LABEL: func.func @closure
// CHECK: gfl.closure %{{.*}} : tensor<4x4xi1>
func.func @closure(%adj: tensor<4x4xi1>) -> tensor<4x4xi1> {
  %r = gfl.closure %adj : tensor<4x4xi1>
  return %r : tensor<4x4xi1>
}

// CHECK-LABEL: gfl.env @proxy
// CHECK: gfl.proxy_reward "data/proxy.pt" sha256 "9f86d0" size 2 log {
// CHECK:   gfl.yield %{{.*}} : tensor<2xf32>
gfl.env @proxy {
  gfl.state "x" : i32 init 0 : i32
  gfl.stop
  gfl.proxy_reward "data/proxy.pt" sha256 "9f86d0" size 2 log {
  ^bb0(%x: i32):
    %f = arith.sitofp %x : i32 to f32
    %v = tensor.from_elements %f, %f : tensor<2xf32>
    gfl.yield %v : tensor<2xf32>
  }
}
