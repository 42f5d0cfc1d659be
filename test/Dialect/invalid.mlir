// RUN: gfl-opt %s -split-input-file -verify-diagnostics

// One case per verifier error of the gfl dialect.

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

// expected-error @+1 {{!gfl.seq element type must be f32, i32 or i1, got 'f64'}}
func.func @seq_f64(%s: !gfl.seq<f64>)

// -----

//===----------------------------------------------------------------------===//
// gfl.env
//===----------------------------------------------------------------------===//

// expected-error @+1 {{'gfl.env' op expects at least one 'gfl.state'}}
gfl.env @no_state {
  gfl.stop
  gfl.log_reward {
    %r = arith.constant 0.0 : f32
    gfl.yield %r : f32
  }
}

// -----

// expected-error @+1 {{'gfl.env' op expects at least one 'gfl.action' or 'gfl.stop'}}
gfl.env @no_action {
  gfl.state "x" : i32 init 0 : i32
  gfl.log_reward {
  ^bb0(%x: i32):
    %r = arith.constant 0.0 : f32
    gfl.yield %r : f32
  }
}

// -----

// expected-error @+1 {{'gfl.env' op expects exactly one 'gfl.log_reward' or 'gfl.proxy_reward', got 0}}
gfl.env @no_reward {
  gfl.state "x" : i32 init 0 : i32
  gfl.stop
}

// -----

// expected-error @+1 {{'gfl.env' op expects exactly one 'gfl.log_reward' or 'gfl.proxy_reward', got 2}}
gfl.env @two_rewards {
  gfl.state "x" : i32 init 0 : i32
  gfl.stop
  gfl.log_reward {
  ^bb0(%x: i32):
    %r = arith.constant 0.0 : f32
    gfl.yield %r : f32
  }
  gfl.log_reward {
  ^bb0(%x: i32):
    %r = arith.constant 0.0 : f32
    gfl.yield %r : f32
  }
}

// -----

// expected-error @+1 {{'gfl.env' op expects at most one 'gfl.stop', got 2}}
gfl.env @two_stops {
  gfl.state "x" : i32 init 0 : i32
  gfl.stop
  gfl.stop
  gfl.log_reward {
  ^bb0(%x: i32):
    %r = arith.constant 0.0 : f32
    gfl.yield %r : f32
  }
}

// -----

// expected-error @+1 {{'gfl.env' op expects at most one 'gfl.terminal', got 2}}
gfl.env @two_terminals {
  gfl.state "x" : i32 init 0 : i32
  gfl.stop
  gfl.terminal {
  ^bb0(%x: i32):
    %t = arith.constant true
    gfl.yield %t : i1
  }
  gfl.terminal {
  ^bb0(%x: i32):
    %t = arith.constant true
    gfl.yield %t : i1
  }
  gfl.log_reward {
  ^bb0(%x: i32):
    %r = arith.constant 0.0 : f32
    gfl.yield %r : f32
  }
}

// -----

// expected-error @+1 {{'gfl.env' op expects at most one 'gfl.features', got 2}}
gfl.env @two_features {
  gfl.state "x" : i32 init 0 : i32
  gfl.stop
  gfl.log_reward {
  ^bb0(%x: i32):
    %r = arith.constant 0.0 : f32
    gfl.yield %r : f32
  }
  gfl.features size 1 {
  ^bb0(%x: i32):
    %f = arith.constant dense<0.0> : tensor<1xf32>
    gfl.yield %f : tensor<1xf32>
  }
  gfl.features size 1 {
  ^bb0(%x: i32):
    %f = arith.constant dense<0.0> : tensor<1xf32>
    gfl.yield %f : tensor<1xf32>
  }
}

// -----

// expected-error @+1 {{'gfl.env' op body may only contain gfl.state, gfl.condition, gfl.action, gfl.stop, gfl.terminal, gfl.log_reward, gfl.proxy_reward, gfl.step_reward and gfl.features, found 'arith.constant'}}
gfl.env @foreign_op {
  gfl.state "x" : i32 init 0 : i32
  // expected-note @+1 {{see operation}}
  %c = arith.constant 0 : i32
  gfl.stop
  gfl.log_reward {
  ^bb0(%x: i32):
    %r = arith.constant 0.0 : f32
    gfl.yield %r : f32
  }
}

// -----

gfl.env @dup_state {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.state' op redefines state "x" of 'gfl.env' "dup_state"}}
  gfl.state "x" : f32 init 0.0 : f32
  gfl.stop
  gfl.log_reward {
  ^bb0(%x: i32, %y: f32):
    gfl.yield %y : f32
  }
}

// -----

gfl.env @dup_action {
  gfl.state "x" : i32 init 0 : i32
  gfl.action "a" guard {
  ^bb0(%x: i32):
    %t = arith.constant true
    gfl.yield %t : i1
  } update {
  ^bb0(%x: i32):
    gfl.yield %x : i32
  }
  // expected-error @+1 {{'gfl.action' op redefines action "a" of 'gfl.env' "dup_action"}}
  gfl.action "a" guard {
  ^bb0(%x: i32):
    %t = arith.constant true
    gfl.yield %t : i1
  } update {
  ^bb0(%x: i32):
    gfl.yield %x : i32
  }
  gfl.log_reward {
  ^bb0(%x: i32):
    %r = arith.constant 0.0 : f32
    gfl.yield %r : f32
  }
}

// -----

gfl.env @reward_arg_count {
  gfl.state "x" : tensor<2xi32> init dense<0> : tensor<2xi32>
  gfl.state "y" : i32 init 0 : i32
  gfl.stop
  // expected-error @+1 {{'gfl.log_reward' op region 'body' expects 2 state argument(s), got 1 argument(s)}}
  gfl.log_reward {
  ^bb0(%x: tensor<2xi32>):
    %r = arith.constant 0.0 : f32
    gfl.yield %r : f32
  }
}

// -----

gfl.env @action_arg_count {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.action' op region 'guard' expects 1 state argument(s) and 1 parameter argument(s), got 1 argument(s)}}
  gfl.action "a" params [0, 2) guard {
  ^bb0(%x: i32):
    %t = arith.constant true
    gfl.yield %t : i1
  } update {
  ^bb0(%x: i32, %d: i32):
    gfl.yield %x : i32
  }
  gfl.log_reward {
  ^bb0(%x: i32):
    %r = arith.constant 0.0 : f32
    gfl.yield %r : f32
  }
}

// -----

gfl.env @state_arg_type {
  gfl.state "x" : i32 init 0 : i32
  gfl.stop
  // expected-error @+1 {{'gfl.terminal' op region 'body' argument #0 has type 'f32', expected 'i32' (state "x")}}
  gfl.terminal {
  ^bb0(%x: f32):
    %t = arith.constant true
    gfl.yield %t : i1
  }
  gfl.log_reward {
  ^bb0(%x: i32):
    %r = arith.constant 0.0 : f32
    gfl.yield %r : f32
  }
}

// -----

gfl.env @param_arg_type {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.action' op region 'update' argument #1 has type 'index', expected 'i32' (action parameter #0)}}
  gfl.action "a" params [0, 2) guard {
  ^bb0(%x: i32, %d: i32):
    %t = arith.constant true
    gfl.yield %t : i1
  } update {
  ^bb0(%x: i32, %d: index):
    gfl.yield %x : i32
  }
  gfl.log_reward {
  ^bb0(%x: i32):
    %r = arith.constant 0.0 : f32
    gfl.yield %r : f32
  }
}

// -----

gfl.env @update_yield {
  gfl.state "x" : i32 init 0 : i32
  gfl.state "y" : f32 init 0.0 : f32
  // expected-error @+1 {{'gfl.action' op region 'update' must yield ('i32', 'f32'), got ('i32')}}
  gfl.action "a" guard {
  ^bb0(%x: i32, %y: f32):
    %t = arith.constant true
    gfl.yield %t : i1
  } update {
  ^bb0(%x: i32, %y: f32):
    gfl.yield %x : i32
  }
  gfl.log_reward {
  ^bb0(%x: i32, %y: f32):
    gfl.yield %y : f32
  }
}

// -----

gfl.env @undo_yield {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.action' op region 'undo' must yield ('i32'), got ('i1')}}
  gfl.action "a" guard {
  ^bb0(%x: i32):
    %t = arith.constant true
    gfl.yield %t : i1
  } update {
  ^bb0(%x: i32):
    gfl.yield %x : i32
  } undo {
  ^bb0(%x: i32):
    %t = arith.constant true
    gfl.yield %t : i1
  }
  gfl.log_reward {
  ^bb0(%x: i32):
    %r = arith.constant 0.0 : f32
    gfl.yield %r : f32
  }
}

// -----

//===----------------------------------------------------------------------===//
// gfl.condition
//===----------------------------------------------------------------------===//

gfl.env @e {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.condition' op type must be f32 or a 1-D tensor of f32, got 'i32'}}
  gfl.condition "c" : i32 from "uniform" [0.0, 1.0] value [0.5]
}

// -----

gfl.env @e {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.condition' op uniform expects params [lo, hi] with lo < hi}}
  gfl.condition "c" : f32 from "uniform" [1.0, 1.0] value [1.0]
}

// -----

gfl.env @e {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.condition' op loguniform expects 0 < lo}}
  gfl.condition "c" : f32 from "loguniform" [0.0, 1.0] value [0.5]
}

// -----

gfl.env @e {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.condition' op a uniform condition is an f32}}
  gfl.condition "c" : tensor<2xf32> from "uniform" [0.0, 1.0] value [0.5, 0.5]
}

// -----

gfl.env @e {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.condition' op a dirichlet condition is a tensor of at least 2 components}}
  gfl.condition "c" : f32 from "dirichlet" [1.0] value [1.0]
}

// -----

gfl.env @e {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.condition' op dirichlet expects one concentration per component (3), got 2}}
  gfl.condition "c" : tensor<3xf32> from "dirichlet" [1.0, 1.0] value [0.3, 0.3, 0.4]
}

// -----

gfl.env @e {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.condition' op dirichlet concentrations must be positive}}
  gfl.condition "c" : tensor<2xf32> from "dirichlet" [1.0, 0.0] value [0.5, 0.5]
}

// -----

gfl.env @e {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.condition' op unknown distribution "normal"; expected uniform, loguniform or dirichlet}}
  gfl.condition "c" : f32 from "normal" [0.0, 1.0] value [0.0]
}

// -----

gfl.env @e {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.condition' op value has 2 element(s), expected 1}}
  gfl.condition "c" : f32 from "uniform" [0.0, 1.0] value [0.5, 0.5]
}

// -----

gfl.env @e {
  gfl.state "x" : i32 init 0 : i32
  gfl.condition "c" : f32 from "uniform" [0.0, 1.0] value [0.5]
  gfl.stop
  // expected-error @+1 {{'gfl.log_reward' op region 'body' expects 1 state argument(s) and 1 condition argument(s), got 1 argument(s)}}
  gfl.log_reward {
  ^bb0(%x: i32):
    %r = arith.constant 0.0 : f32
    gfl.yield %r : f32
  }
}

// -----

gfl.env @e {
  gfl.state "x" : i32 init 0 : i32
  gfl.condition "c" : f32 from "uniform" [0.0, 1.0] value [0.5]
  gfl.stop
  // expected-error @+1 {{'gfl.log_reward' op region 'body' argument #1 has type 'tensor<2xf32>', expected 'f32' (condition #0)}}
  gfl.log_reward {
  ^bb0(%x: i32, %c: tensor<2xf32>):
    %r = arith.constant 0.0 : f32
    gfl.yield %r : f32
  }
}

// -----

gfl.env @e {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.condition' op redefines state "x" of 'gfl.env' "e"}}
  gfl.condition "x" : f32 from "uniform" [0.0, 1.0] value [0.5]
}

// -----

//===----------------------------------------------------------------------===//
// gfl.state
//===----------------------------------------------------------------------===//

gfl.env @e {
  // expected-error @+1 {{'gfl.state' op tensor state type must have a static shape, got 'tensor<?xi32>'}}
  gfl.state "x" : tensor<?xi32> init dense<0> : tensor<1xi32>
}

// -----

gfl.env @e {
  // expected-error @+1 {{'gfl.state' op state type must be i32, f32, i1 or a statically shaped tensor of them, got 'tensor<2xf64>'}}
  gfl.state "x" : tensor<2xf64> init dense<0.0> : tensor<2xf64>
}

// -----

gfl.env @e {
  // expected-error @+1 {{'gfl.state' op init value type 'tensor<3xi32>' does not match the state type 'tensor<2xi32>'}}
  gfl.state "x" : tensor<2xi32> init dense<0> : tensor<3xi32>
}

// -----

gfl.env @e {
  // expected-error @+1 {{'gfl.state' op init must be a dense elements attribute for a tensor state and an integer or float attribute for a scalar state}}
  gfl.state "x" : tensor<2xi32> init sparse<[[0]], [1]> : tensor<2xi32>
}

// -----

gfl.env @e {
  // expected-error @+1 {{'gfl.state' op expects both 'domain_lo' and 'domain_hi' or neither}}
  "gfl.state"() <{name = "x", type = i32, init = 0 : i32, domain_lo = 0 : i64}> : () -> ()
}

// -----

gfl.env @e {
  // expected-error @+1 {{'gfl.state' op domain is only allowed on int (i32) states, got 'f32'}}
  gfl.state "x" : f32 domain [0, 8) init 0.0 : f32
}

// -----

gfl.env @e {
  // expected-error @+1 {{'gfl.state' op domain [8, 8) is empty}}
  gfl.state "x" : i32 domain [8, 8) init 8 : i32
}

// -----

gfl.env @e {
  // expected-error @+1 {{'gfl.state' op init value 9 is outside the domain [0, 8)}}
  gfl.state "x" : tensor<2xi32> domain [0, 8) init dense<[1, 9]> : tensor<2xi32>
}

// -----

//===----------------------------------------------------------------------===//
// gfl.action, gfl.stop, gfl.terminal, gfl.log_reward, gfl.features
//===----------------------------------------------------------------------===//

gfl.env @e {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.action' op param_ranges must hold (lo, hi) pairs, got 3 values}}
  "gfl.action"() <{name = "a", param_ranges = array<i64: 0, 2, 4>}> ({
  ^bb0(%x: i32, %p: i32):
    %t = arith.constant true
    gfl.yield %t : i1
  }, {
  ^bb0(%x: i32, %p: i32):
    gfl.yield %x : i32
  }, {
  }) : () -> ()
}

// -----

gfl.env @e {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.action' op parameter #1 has an empty range [2, 2)}}
  gfl.action "a" params [0, 1), [2, 2) guard {
  ^bb0(%x: i32, %p: i32, %q: i32):
    %t = arith.constant true
    gfl.yield %t : i1
  } update {
  ^bb0(%x: i32, %p: i32, %q: i32):
    gfl.yield %x : i32
  }
}

// -----

gfl.env @e {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.action' op region 'guard' must yield ('i1'), got ('i32')}}
  gfl.action "a" guard {
  ^bb0(%x: i32):
    gfl.yield %x : i32
  } update {
  ^bb0(%x: i32):
    gfl.yield %x : i32
  }
}

// -----

gfl.env @e {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.stop' op region 'guard' must yield ('i1'), got ()}}
  gfl.stop guard {
  ^bb0(%x: i32):
    gfl.yield
  }
}

// -----

gfl.env @e {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.terminal' op region 'body' must yield ('i1'), got ('i1', 'i1')}}
  gfl.terminal {
  ^bb0(%x: i32):
    %t = arith.constant true
    gfl.yield %t, %t : i1, i1
  }
}

// -----

gfl.env @e {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.log_reward' op region 'body' must yield ('f32'), got ('i32')}}
  gfl.log_reward {
  ^bb0(%x: i32):
    gfl.yield %x : i32
  }
}

// -----

gfl.env @e {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.log_reward' op region 'body' must end with 'gfl.yield'}}
  gfl.log_reward {
  ^bb0(%x: i32):
    llvm.unreachable
  }
}

// -----

gfl.env @e {
  gfl.state "x" : i32 init 0 : i32
  // expected-error @+1 {{'gfl.features' op region 'body' must yield ('tensor<16xf32>'), got ('tensor<8xf32>')}}
  gfl.features size 16 {
  ^bb0(%x: i32):
    %f = gfl.onehot %x classes 8 : i32 -> tensor<8xf32>
    gfl.yield %f : tensor<8xf32>
  }
}

// -----

//===----------------------------------------------------------------------===//
// Expression ops
//===----------------------------------------------------------------------===//

func.func @reduce_result(%t: tensor<2xi32>) -> f32 {
  // expected-error @+1 {{'gfl.reduce' op result type 'f32' must be the input element type 'i32'}}
  %r = gfl.reduce <sum> %t : tensor<2xi32> -> f32
  return %r : f32
}

// -----

func.func @reduce_all_f32(%t: tensor<2xf32>) -> f32 {
  // expected-error @+1 {{'gfl.reduce' op 'all' reduction needs i1 values, got 'f32'}}
  %r = gfl.reduce <all> %t : tensor<2xf32> -> f32
  return %r : f32
}

// -----

func.func @reduce_sum_i1(%t: tensor<2xi1>) -> i1 {
  // expected-error @+1 {{'gfl.reduce' op 'sum' reduction needs i32 or f32 values, got 'i1'}}
  %r = gfl.reduce <sum> %t : tensor<2xi1> -> i1
  return %r : i1
}

// -----

func.func @reduce_lse_i32(%t: tensor<2xi32>) -> i32 {
  // expected-error @+1 {{'gfl.reduce' op 'logsumexp' reduction needs f32 values, got 'i32'}}
  %r = gfl.reduce <logsumexp> %t : tensor<2xi32> -> i32
  return %r : i32
}

// -----

func.func @range_reduce_args(%lo: index, %hi: index) -> f32 {
  // expected-error @+1 {{'gfl.range_reduce' op body must have exactly one 'index' argument}}
  %r = gfl.range_reduce <sum> %lo to %hi : f32 {
  ^bb0(%i: i32):
    %z = arith.constant 0.0 : f32
    gfl.yield %z : f32
  }
  return %r : f32
}

// -----

func.func @range_reduce_yield(%lo: index, %hi: index) -> f32 {
  // expected-error @+1 {{'gfl.range_reduce' op region 'body' must yield ('f32'), got ('i32')}}
  %r = gfl.range_reduce <sum> %lo to %hi : f32 {
  ^bb0(%i: index):
    %z = arith.constant 0 : i32
    gfl.yield %z : i32
  }
  return %r : f32
}

// -----

func.func @range_reduce_kind(%lo: index, %hi: index) -> f32 {
  // expected-error @+1 {{'gfl.range_reduce' op 'any' reduction needs i1 values, got 'f32'}}
  %r = gfl.range_reduce <any> %lo to %hi : f32 {
  ^bb0(%i: index):
    %z = arith.constant 0.0 : f32
    gfl.yield %z : f32
  }
  return %r : f32
}

// -----

func.func @onehot_shape(%x: tensor<2xi32>) -> tensor<2x7xf32> {
  // expected-error @+1 {{'gfl.onehot' op result type must be 'tensor<2x8xf32>', got 'tensor<2x7xf32>'}}
  %h = gfl.onehot %x classes 8 : tensor<2xi32> -> tensor<2x7xf32>
  return %h : tensor<2x7xf32>
}

// -----

func.func @concat_empty() -> tensor<1xf32> {
  // expected-error @+1 {{'gfl.concat' op expected 1 or more operands, but found 0}}
  %c = "gfl.concat"() : () -> tensor<1xf32>
  return %c : tensor<1xf32>
}

// -----

func.func @concat_size(%a: tensor<16xf32>, %b: tensor<3xf32>) -> tensor<18xf32> {
  // expected-error @+1 {{'gfl.concat' op result size 18 must equal the sum of the operand sizes (19)}}
  %c = gfl.concat %a, %b : tensor<16xf32>, tensor<3xf32> -> tensor<18xf32>
  return %c : tensor<18xf32>
}

// -----

func.func @mls_mask(%l: tensor<4xf32>, %m: tensor<3xi1>) -> tensor<4xf32> {
  // expected-error @+1 {{'gfl.masked_log_softmax' op mask type 'tensor<3xi1>' is not shape-compatible with logits type 'tensor<4xf32>'}}
  %r = gfl.masked_log_softmax %l, %m : tensor<4xf32>, tensor<3xi1> -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

func.func @mls_result(%l: tensor<4xf32>, %m: tensor<?xi1>) -> tensor<5xf32> {
  // expected-error @+1 {{'gfl.masked_log_softmax' op result type 'tensor<5xf32>' is not shape-compatible with logits type 'tensor<4xf32>'}}
  %r = gfl.masked_log_softmax %l, %m : tensor<4xf32>, tensor<?xi1> -> tensor<5xf32>
  return %r : tensor<5xf32>
}

// -----

//===----------------------------------------------------------------------===//
// Objective ops
//===----------------------------------------------------------------------===//

// expected-error @+1 {{'gfl.objective' op expects a first body argument of type !gfl.traj}}
gfl.objective @no_traj {
^bb0(%x: f32):
  gfl.yield %x : f32
}

// -----

// expected-error @+1 {{'gfl.objective' op body argument #1 must be an f32, i32 or i1 scalar, got 'tensor<2xf32>'}}
gfl.objective @tensor_arg {
^bb0(%t: !gfl.traj, %x: tensor<2xf32>):
  %z = arith.constant 0.0 : f32
  gfl.yield %z : f32
}

// -----

// expected-error @+1 {{'gfl.objective' op region 'body' must yield ('f32'), got ('i32')}}
gfl.objective @yield_i32 {
^bb0(%t: !gfl.traj, %k: i32):
  gfl.yield %k : i32
}

// -----

// expected-error @+1 {{'gfl.objective' op has 2 default value(s) for 1 extra argument(s)}}
gfl.objective @defaults_count defaults [1.0 : f32, 2.0 : f32] {
^bb0(%t: !gfl.traj, %x: f32):
  gfl.yield %x : f32
}

// -----

// expected-error @+1 {{'gfl.objective' op default value #0 (1 : i32) must be a typed attribute of type 'f32', the type of body argument #1}}
gfl.objective @defaults_type defaults [1 : i32] {
^bb0(%t: !gfl.traj, %x: f32):
  gfl.yield %x : f32
}

// -----

func.func @seq_reduce_result(%s: !gfl.seq<f32>) -> i32 {
  // expected-error @+1 {{'gfl.seq_reduce' op result type 'i32' must be the sequence element type 'f32'}}
  %r = gfl.seq_reduce <sum> %s : !gfl.seq<f32> -> i32
  return %r : i32
}

// -----

func.func @seq_reduce_prod_f32(%s: !gfl.seq<f32>) -> f32 {
  // expected-error @+1 {{'gfl.seq_reduce' op 'prod' reduction needs i32 values, got 'f32'}}
  %r = gfl.seq_reduce <prod> %s : !gfl.seq<f32> -> f32
  return %r : f32
}

// -----

func.func @logsumexp_empty() -> f32 {
  // expected-error @+1 {{'gfl.logsumexp' op expects at least one operand}}
  %r = "gfl.logsumexp"() : () -> f32
  return %r : f32
}

// -----

func.func @closure_not_square(%a: tensor<2x3xi1>) -> tensor<2x3xi1> {
  // expected-error @+1 {{'gfl.closure' op expects a square matrix with a static shape, got 'tensor<2x3xi1>'}}
  %r = gfl.closure %a : tensor<2x3xi1>
  return %r : tensor<2x3xi1>
}

// -----

gfl.env @proxy_wrong_size {
  gfl.state "x" : i32 init 0 : i32
  gfl.stop
  // expected-error @+1 {{'gfl.proxy_reward' op region 'body' must yield ('tensor<3xf32>'), got ('tensor<2xf32>')}}
  gfl.proxy_reward "proxy.pt" sha256 "00" size 3 {
  ^bb0(%x: i32):
    %f = arith.sitofp %x : i32 to f32
    %v = tensor.from_elements %f, %f : tensor<2xf32>
    gfl.yield %v : tensor<2xf32>
  }
}

// -----

// expected-error @+1 {{'gfl.env' op expects exactly one 'gfl.log_reward' or 'gfl.proxy_reward', got 2}}
gfl.env @proxy_and_formula {
  gfl.state "x" : i32 init 0 : i32
  gfl.stop
  gfl.log_reward {
  ^bb0(%x: i32):
    %r = arith.constant 0.0 : f32
    gfl.yield %r : f32
  }
  gfl.proxy_reward "proxy.pt" sha256 "00" size 1 log {
  ^bb0(%x: i32):
    %f = arith.sitofp %x : i32 to f32
    %v = tensor.from_elements %f : tensor<1xf32>
    gfl.yield %v : tensor<1xf32>
  }
}
