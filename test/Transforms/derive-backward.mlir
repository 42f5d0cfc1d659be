// RUN: gfl-opt %s --gfl-derive-backward --split-input-file --verify-diagnostics | FileCheck %s

// x[d] += 1 is undone by x[d] -= 1 at the same index.
// CHECK-LABEL: gfl.env @grid
// CHECK:       } undo {
// CHECK-NEXT:  ^bb0(%[[X:.*]]: tensor<2xi32>, %[[D:.*]]: i32):
// CHECK-NEXT:    %[[I:.*]] = arith.index_cast %[[D]] : i32 to index
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1 : i32
// CHECK-NEXT:    %[[V:.*]] = tensor.extract %[[X]][%[[I]]] : tensor<2xi32>
// CHECK-NEXT:    %[[P:.*]] = arith.subi %[[V]], %[[ONE]] : i32
// CHECK-NEXT:    %[[R:.*]] = tensor.insert %[[P]] into %[[X]][%[[I]]] : tensor<2xi32>
// CHECK-NEXT:    gfl.yield %[[R]] : tensor<2xi32>
gfl.env @grid {
  gfl.state "x" : tensor<2xi32> domain [0, 8) init dense<0> : tensor<2xi32>
  gfl.action "inc" params [0, 2) guard {
  ^bb0(%x: tensor<2xi32>, %d: i32):
    %t = arith.constant true
    gfl.yield %t : i1
  } update {
  ^bb0(%x: tensor<2xi32>, %d: i32):
    %i = arith.index_cast %d : i32 to index
    %one = arith.constant 1 : i32
    %v = tensor.extract %x[%i] : tensor<2xi32>
    %n = arith.addi %v, %one : i32
    %r = tensor.insert %n into %x[%i] : tensor<2xi32>
    gfl.yield %r : tensor<2xi32>
  }
  gfl.stop
  gfl.log_reward {
  ^bb0(%x: tensor<2xi32>):
    %z = arith.constant 0.0 : f32
    gfl.yield %z : f32
  }
}

// -----

// Scalar fields: `n -= k` (k a parameter) inverts to `n + k`; an unchanged
// field passes through; `done = true` with the guard `done == false` is
// undone by writing the guarded old value.
// CHECK-LABEL: gfl.env @scalars
// CHECK:       } undo {
// CHECK-NEXT:  ^bb0(%[[N:.*]]: i32, %[[F:.*]]: f32, %[[DONE:.*]]: i1, %[[K:.*]]: i32):
// CHECK-NEXT:    %[[PN:.*]] = arith.addi %[[N]], %[[K]] : i32
// CHECK-NEXT:    %[[OLD:.*]] = arith.constant false
// CHECK-NEXT:    gfl.yield %[[PN]], %[[F]], %[[OLD]] : i32, f32, i1
gfl.env @scalars {
  gfl.state "n" : i32 domain [0, 10) init 9 : i32
  gfl.state "f" : f32 init 0.5 : f32
  gfl.state "done" : i1 init false
  gfl.action "take" params [1, 3) guard {
  ^bb0(%n: i32, %f: f32, %done: i1, %k: i32):
    %no = arith.constant false
    %ok = arith.cmpi eq, %done, %no : i1
    gfl.yield %ok : i1
  } update {
  ^bb0(%n: i32, %f: f32, %done: i1, %k: i32):
    %m = arith.subi %n, %k : i32
    %t = arith.constant true
    gfl.yield %m, %f, %t : i32, f32, i1
  }
  gfl.stop
  gfl.log_reward {
  ^bb0(%n: i32, %f: f32, %done: i1):
    gfl.yield %f : f32
  }
}

// -----

// Setting an element is invertible when the guard pins its old value:
// spin[i] = v requires spin[i] == 0.
// CHECK-LABEL: gfl.env @spins
// CHECK:       } undo {
// CHECK-NEXT:  ^bb0(%[[S:.*]]: tensor<4xi32>, %[[I:.*]]: i32, %[[V:.*]]: i32):
// CHECK-NEXT:    %[[IDX:.*]] = arith.index_cast %[[I]] : i32 to index
// CHECK-NEXT:    %[[ZERO:.*]] = arith.constant 0 : i32
// CHECK-NEXT:    %[[R:.*]] = tensor.insert %[[ZERO]] into %[[S]][%[[IDX]]] : tensor<4xi32>
// CHECK-NEXT:    gfl.yield %[[R]] : tensor<4xi32>
gfl.env @spins {
  gfl.state "spin" : tensor<4xi32> domain [-1, 2) init dense<0> : tensor<4xi32>
  gfl.action "set" params [0, 4), [0, 2) guard {
  ^bb0(%s: tensor<4xi32>, %i: i32, %v: i32):
    %idx = arith.index_cast %i : i32 to index
    %cur = tensor.extract %s[%idx] : tensor<4xi32>
    %zero = arith.constant 0 : i32
    %ok = arith.cmpi eq, %cur, %zero : i32
    gfl.yield %ok : i1
  } update {
  ^bb0(%s: tensor<4xi32>, %i: i32, %v: i32):
    %idx = arith.index_cast %i : i32 to index
    %r = tensor.insert %v into %s[%idx] : tensor<4xi32>
    gfl.yield %r : tensor<4xi32>
  }
  gfl.stop
  gfl.log_reward {
  ^bb0(%s: tensor<4xi32>):
    %z = arith.constant 0.0 : f32
    gfl.yield %z : f32
  }
}

// -----

// An explicit undo is kept as written.
// CHECK-LABEL: gfl.env @explicit
// CHECK:       } undo {
// CHECK-NEXT:  ^bb0(%[[N:.*]]: i32):
// CHECK-NEXT:    %[[C:.*]] = arith.constant 7 : i32
// CHECK-NEXT:    gfl.yield %[[C]] : i32
gfl.env @explicit {
  gfl.state "n" : i32 domain [0, 10) init 0 : i32
  gfl.action "jump" guard {
  ^bb0(%n: i32):
    %t = arith.constant true
    gfl.yield %t : i1
  } update {
  ^bb0(%n: i32):
    %c = arith.constant 3 : i32
    gfl.yield %c : i32
  } undo {
  ^bb0(%n: i32):
    %c = arith.constant 7 : i32
    gfl.yield %c : i32
  }
  gfl.stop
  gfl.log_reward {
  ^bb0(%n: i32):
    %z = arith.constant 0.0 : f32
    gfl.yield %z : f32
  }
}

// -----

// Setting a field without a guard on its old value cannot be inverted.
gfl.env @lossy {
  gfl.state "n" : i32 domain [0, 10) init 0 : i32
  // expected-error@+1 {{cannot derive the backward action of 'reset': its update of state 'n' is not an invertible form (x += c, x -= c, or x = v where the guard requires x == k); write an explicit 'undo { ... }'}}
  gfl.action "reset" guard {
  ^bb0(%n: i32):
    %t = arith.constant true
    gfl.yield %t : i1
  } update {
  ^bb0(%n: i32):
    %c = arith.constant 0 : i32
    gfl.yield %c : i32
  }
  gfl.stop
  gfl.log_reward {
  ^bb0(%n: i32):
    %z = arith.constant 0.0 : f32
    gfl.yield %z : f32
  }
}

// -----

// A bool guarded by `not done` (xor with true) or `done` is set back to
// false / true.
// CHECK-LABEL: gfl.env @flags
// CHECK:       gfl.action "finish" guard {
// CHECK:       } undo {
// CHECK-NEXT:  ^bb0(%{{.*}}: i1, %[[B:.*]]: i1):
// CHECK-NEXT:    %[[F:.*]] = arith.constant false
// CHECK-NEXT:    gfl.yield %[[F]], %[[B]] : i1, i1
// CHECK:       gfl.action "reopen" guard {
// CHECK:       } undo {
// CHECK-NEXT:  ^bb0(%[[A:.*]]: i1, %{{.*}}: i1):
// CHECK-NEXT:    %[[T:.*]] = arith.constant true
// CHECK-NEXT:    gfl.yield %[[A]], %[[T]] : i1, i1
gfl.env @flags {
  gfl.state "done" : i1 init false
  gfl.state "open" : i1 init true
  gfl.action "finish" guard {
  ^bb0(%d: i1, %o: i1):
    %t = arith.constant true
    %nd = arith.xori %d, %t : i1
    gfl.yield %nd : i1
  } update {
  ^bb0(%d: i1, %o: i1):
    %t = arith.constant true
    gfl.yield %t, %o : i1, i1
  }
  gfl.action "reopen" guard {
  ^bb0(%d: i1, %o: i1):
    gfl.yield %o : i1
  } update {
  ^bb0(%d: i1, %o: i1):
    %f = arith.constant false
    gfl.yield %d, %f : i1, i1
  }
  gfl.stop
  gfl.log_reward {
  ^bb0(%d: i1, %o: i1):
    %z = arith.constant 0.0 : f32
    gfl.yield %z : f32
  }
}
