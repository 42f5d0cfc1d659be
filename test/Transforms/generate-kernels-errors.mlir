// RUN: gfl-opt %s --gfl-generate-kernels --split-input-file --verify-diagnostics

// Kernels need every backward action: run gfl-derive-backward first.
gfl.env @no_undo {
  gfl.state "n" : i32 domain [0, 4) init 0 : i32
  // expected-error@+1 {{action 'inc' has no undo region; run gfl-derive-backward first}}
  gfl.action "inc" guard {
  ^bb0(%n: i32):
    %t = arith.constant true
    gfl.yield %t : i1
  } update {
  ^bb0(%n: i32):
    gfl.yield %n : i32
  }
  gfl.stop
  gfl.log_reward {
  ^bb0(%n: i32):
    %z = arith.constant 0.0 : f32
    gfl.yield %z : f32
  }
}

// -----

gfl.env @first {
  gfl.state "n" : i32 init 0 : i32
  gfl.stop
  gfl.log_reward {
  ^bb0(%n: i32):
    %z = arith.constant 0.0 : f32
    gfl.yield %z : f32
  }
}
// expected-error@+1 {{only one gfl.env per module is supported}}
gfl.env @second {
  gfl.state "n" : i32 init 0 : i32
  gfl.stop
  gfl.log_reward {
  ^bb0(%n: i32):
    %z = arith.constant 0.0 : f32
    gfl.yield %z : f32
  }
}
