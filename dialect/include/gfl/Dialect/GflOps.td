//===- GflOps.td - gfl dialect operations ------------------*- tablegen -*-===//
//
// Environment structure ops (gfl.env and its children), expression ops used
// inside environment regions, and objective ops over trajectories.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_DIALECT_GFLOPS_TD
#define GFL_DIALECT_GFLOPS_TD

include "gfl/Dialect/GflDialect.td"
include "gfl/Dialect/GflTypes.td"
include "gfl/Dialect/GflAttrs.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Gfl_Scalar : AnyTypeOf<[I32, F32, I1], "i32, f32 or i1 scalar">;

def Gfl_StaticTensor : StaticShapeTensorOf<[I32, F32, I1]>;

def Gfl_StaticVector : ConfinedType<TensorRankOf<[I32, F32, I1], [1]>,
    [HasStaticShapePred],
    "1-D statically shaped tensor of i32, f32 or i1",
    "::mlir::RankedTensorType">;

def Gfl_F32OrF32Tensor : AnyTypeOf<[F32, TensorOf<[F32]>],
    "f32 or tensor of f32">;

// Sequence constraints use the generic C++ type `::mlir::Type` so that the
// declarative printer prints the full `!gfl.seq<f32>` rather than `<f32>`.
def Gfl_AnySeq : Type<CPred<"::llvm::isa<::mlir::gfl::SeqType>($_self)">,
    "!gfl.seq", "::mlir::Type">;

def Gfl_F32Seq : ConfinedType<Gfl_AnySeq,
    [CPred<"::llvm::cast<::mlir::gfl::SeqType>($_self).getElementType()"
           ".isF32()">],
    "!gfl.seq<f32>">;

def Gfl_NumericSeq : ConfinedType<Gfl_AnySeq,
    [CPred<"::llvm::cast<::mlir::gfl::SeqType>($_self).getElementType()"
           ".isF32() || ::llvm::cast<::mlir::gfl::SeqType>($_self)"
           ".getElementType().isSignlessInteger(32)">],
    "!gfl.seq<f32> or !gfl.seq<i32>">;

//===----------------------------------------------------------------------===//
// Environment structure
//===----------------------------------------------------------------------===//

def Gfl_EnvOp : Gfl_Op<"env",
    [Symbol, IsolatedFromAbove, NoTerminator, SingleBlock]> {
  let summary = "environment declaration";
  let description = [{
    Declares an environment: its state fields (`gfl.state`, in order), its
    conditions (`gfl.condition`), the action families (`gfl.action`), an optional exit (`gfl.stop`), an
    optional terminal condition (`gfl.terminal`), the log-reward
    (`gfl.log_reward`) and optional policy features (`gfl.features`).

    Every region of every child op is isolated from above (each is a
    self-contained function of the state) and takes the state field values
    as its entry block arguments, in the order of the `gfl.state` ops and with their
    declared types; `gfl.action` regions take one extra `i32` per parameter.
    The flat action index is the concatenation of the action families (in
    order, each enumerating its parameters row-major) followed by `stop`.

    ```mlir
    gfl.env @hypergrid {
      gfl.state "x" : tensor<2xi32> domain [0, 8) init dense<0> : tensor<2xi32>
      gfl.action "inc" params [0, 2) guard { ... } update { ... }
      gfl.stop
      gfl.log_reward { ^bb0(%x: tensor<2xi32>): ... gfl.yield %r : f32 }
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name);
  let regions = (region SizedRegion<1>:$bodyRegion);
  let assemblyFormat = "$sym_name attr-dict-with-keyword $bodyRegion";
  let hasRegionVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [
    // Creates the env with an empty body block; fill it with
    // `OpBuilder::atBlockEnd(env.getBody())`.
    OpBuilder<(ins "::llvm::StringRef":$name)>
  ];
  let extraClassDeclaration = [{
    /// The state fields, in declaration order.
    ::llvm::SmallVector<StateOp, 4> getStates();
    /// The declared types of the state fields, in declaration order.
    ::llvm::SmallVector<::mlir::Type> getStateTypes();
    /// The action families, in declaration order.
    ::llvm::SmallVector<ActionOp, 4> getActions();
    /// The conditions, in declaration order, and their types.
    ::llvm::SmallVector<ConditionOp, 2> getConditions();
    ::llvm::SmallVector<::mlir::Type> getConditionTypes();
    /// The optional children; null when absent.
    StopOp getStop();
    TerminalOp getTerminal();
    LogRewardOp getLogReward();
    ProxyRewardOp getProxyReward();
    StepRewardOp getStepReward();
    FeaturesOp getFeatures();
    /// Number of flat actions: the sum of the families' getNumActions()
    /// plus one when the env has a gfl.stop.
    int64_t getNumFlatActions();
    /// The entry block argument types expected by the regions of `child`
    /// (a direct child of this env): the state types, followed for a
    /// gfl.action by one i32 per parameter and for gfl.log_reward by the
    /// condition types.
    ::llvm::SmallVector<::mlir::Type> getRegionArgTypes(::mlir::Operation *child);
  }];
}

def Gfl_StateOp : Gfl_Op<"state", [HasParent<"EnvOp">]> {
  let summary = "environment state field";
  let description = [{
    One field of the environment state, with its type (`i32`, `f32`, `i1` or
    a statically shaped tensor of them), an optional integer domain
    `[lo, hi)` (half-open; integer fields only) and its initial value (a
    dense elements attribute of the field type for tensors, a scalar
    attribute of the field type otherwise).

    ```mlir
    gfl.state "x" : tensor<2xi32> domain [0, 8) init dense<0> : tensor<2xi32>
    gfl.state "done" : i1 init false
    ```
  }];
  let arguments = (ins StrAttr:$name, TypeAttr:$type,
                       OptionalAttr<I64Attr>:$domain_lo,
                       OptionalAttr<I64Attr>:$domain_hi,
                       TypedAttrInterface:$init);
  let assemblyFormat = [{
    $name `:` $type (`domain` ` ` `[` $domain_lo^ `,` $domain_hi `)`)?
    `init` $init attr-dict
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// True when the field has a declared domain [lo, hi).
    bool hasDomain() { return getDomainLo().has_value(); }
  }];
}

def Gfl_ConditionOp : Gfl_Op<"condition", [HasParent<"EnvOp">]> {
  let summary = "a variable drawn per trajectory that the reward reads";
  let description = [{
    A condition (temperature or preference conditioning): an `f32` or a
    1-D `tensor<Kxf32>`, drawn for each trajectory from `distribution` with
    `params` (`uniform` and `loguniform`: lo and hi; `dirichlet`: one
    concentration per component), and `value` where none is drawn (exact
    evaluation). The `gfl.log_reward` region takes the conditions, in order,
    after the state values; the networks see them through the runtime.

    ```mlir
    gfl.condition "beta" : f32 from "loguniform" [1.0, 4.0] value [2.0]
    gfl.condition "w" : tensor<2xf32> from "dirichlet" [1.0, 1.0] value [0.5, 0.5]
    ```
  }];
  let arguments = (ins StrAttr:$name, TypeAttr:$type, StrAttr:$distribution,
                       DenseF64ArrayAttr:$params, DenseF64ArrayAttr:$value);
  let assemblyFormat = [{
    $name `:` $type `from` $distribution $params `value` $value attr-dict
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Number of f32 values (1 for a scalar).
    int64_t getSize();
  }];
}

def Gfl_ActionOp : Gfl_Op<"action", [HasParent<"EnvOp">, IsolatedFromAbove]> {
  let summary = "parameterized action family";
  let description = [{
    A family of actions `name(p0, p1, ...)`; parameter `i` ranges over the
    half-open interval `[param_ranges[2i], param_ranges[2i+1])`. Each region
    takes the state values followed by one `i32` per parameter:

    - `guard` yields one `i1`: whether the action is allowed;
    - `update` yields the new state values (one per state field);
    - `undo` (optional, empty when absent) is the user's explicit inverse:
      it takes the state *after* the action and yields the state before.

    ```mlir
    gfl.action "inc" params [0, 2) guard {
    ^bb0(%x: tensor<2xi32>, %d: i32):
      ...
      gfl.yield %ok : i1
    } update {
    ^bb0(%x: tensor<2xi32>, %d: i32):
      ...
      gfl.yield %nx : tensor<2xi32>
    }
    ```
  }];
  let arguments = (ins StrAttr:$name, DenseI64ArrayAttr:$param_ranges);
  let regions = (region SizedRegion<1>:$guard, SizedRegion<1>:$update,
                        MaxSizedRegion<1>:$undo);
  let assemblyFormat = [{
    $name `` custom<ParamRanges>($param_ranges) attr-dict-with-keyword
    `guard` $guard `update` $update (`undo` $undo^)?
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// Number of parameters (half the length of param_ranges).
    int64_t getNumParams() { return getParamRanges().size() / 2; }
    /// Half-open range [lo, hi) of parameter `i`.
    std::pair<int64_t, int64_t> getParamRange(int64_t i) {
      return {getParamRanges()[2 * i], getParamRanges()[2 * i + 1]};
    }
    /// Number of concrete actions: the product of the range sizes (1 when
    /// the family has no parameters).
    int64_t getNumActions();
    /// True when the user wrote an explicit undo region.
    bool hasUndo() { return !getUndo().empty(); }
  }];
}

def Gfl_StopOp : Gfl_Op<"stop", [HasParent<"EnvOp">, IsolatedFromAbove]> {
  let summary = "exit action";
  let description = [{
    The exit action, which ends the trajectory in the current state. The
    optional `guard` region (state args, yields one `i1`) says where it is
    allowed; an empty region means it is allowed in every state.
  }];
  let regions = (region MaxSizedRegion<1>:$guard);
  let assemblyFormat = "attr-dict-with-keyword (`guard` $guard^)?";
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    bool hasGuard() { return !getGuard().empty(); }
  }];
}

def Gfl_TerminalOp : Gfl_Op<"terminal", [HasParent<"EnvOp">, IsolatedFromAbove]> {
  let summary = "terminal condition";
  let description = [{
    The body (state args, yields one `i1`) is true for states in which the
    trajectory ends by itself (no further action, no explicit exit).
  }];
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "attr-dict-with-keyword $body";
  let hasRegionVerifier = 1;
}

def Gfl_LogRewardOp : Gfl_Op<"log_reward", [HasParent<"EnvOp">, IsolatedFromAbove]> {
  let summary = "log-reward of a terminal state";
  let description = [{
    The body (state args, then the env's conditions) yields one `f32`:
    log R(x) of a terminating state, log R(x | c) with conditions.
  }];
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "attr-dict-with-keyword $body";
  let hasRegionVerifier = 1;
}

def Gfl_ProxyRewardOp : Gfl_Op<"proxy_reward",
    [HasParent<"EnvOp">, IsolatedFromAbove]> {
  let summary = "reward given by a trained model (a TorchScript module)";
  let description = [{
    The body (state args) yields one `tensor<Nxf32>` with `N == size`: the
    input of the reward model for a terminal state. The runtime loads the
    TorchScript module at `path` (which must still have the SHA-256
    `sha256`), calls it once per batch of terminal states on their inputs
    `[B, N]`, and reads one value per state: log R with `log`, else R.
    An env has a `gfl.log_reward` or a `gfl.proxy_reward`.

    ```mlir
    gfl.proxy_reward "/data/proxy.pt" sha256 "9f86d0..." size 8 log {
    ^bb0(%x: tensor<8xi32>):
      %in = arith.sitofp %x : tensor<8xi32> to tensor<8xf32>
      gfl.yield %in : tensor<8xf32>
    }
    ```
  }];
  let arguments = (ins StrAttr:$path, StrAttr:$sha256,
                       ConfinedAttr<I64Attr, [IntPositive]>:$size,
                       UnitAttr:$log);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $path `sha256` $sha256 `size` $size (`log` $log^)? attr-dict-with-keyword
    $body
  }];
  let hasRegionVerifier = 1;
}

def Gfl_StepRewardOp : Gfl_Op<"step_reward", [HasParent<"EnvOp">, IsolatedFromAbove]> {
  let summary = "reward of a step, for RL update rules";
  let description = [{
    The body (state args: the state a move leads to) yields one `f32`: the
    reward of that move (`t.reward` in update rules; the exit earns 0
    here, the terminal reward being the log-reward).
  }];
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "attr-dict-with-keyword $body";
  let hasRegionVerifier = 1;
}

def Gfl_FeaturesOp : Gfl_Op<"features", [HasParent<"EnvOp">, IsolatedFromAbove]> {
  let summary = "policy input features of a state";
  let description = [{
    The body (state args) yields one `tensor<Nxf32>` with `N == size`: the
    input of the policy networks for that state.
  }];
  let arguments = (ins ConfinedAttr<I64Attr, [IntPositive]>:$size);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "`size` $size attr-dict-with-keyword $body";
  let hasRegionVerifier = 1;
}

def Gfl_YieldOp : Gfl_Op<"yield", [Pure, ReturnLike, Terminator,
    ParentOneOf<["ActionOp", "StopOp", "TerminalOp", "LogRewardOp",
                 "ProxyRewardOp", "StepRewardOp", "FeaturesOp", "RangeReduceOp", "SeqBuildOp",
                 "ObjectiveOp"]>]> {
  let summary = "region terminator";
  let description = [{
    Terminates the regions of the gfl ops and returns their values to the
    parent op, which defines how many values of which types it expects.
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "attr-dict ($values^ `:` type($values))?";
  let builders = [
    OpBuilder<(ins), [{ build($_builder, $_state, ::mlir::ValueRange()); }]>
  ];
}

//===----------------------------------------------------------------------===//
// Expression ops
//===----------------------------------------------------------------------===//

def Gfl_ReduceOp : Gfl_Op<"reduce", [Pure]> {
  let summary = "reduce all elements of a tensor";
  let description = [{
    Reduces all elements of a statically shaped tensor to a scalar of its
    element type. `sum`, `prod`, `min`, `max` need `i32` or `f32` elements,
    `logsumexp` needs `f32`, `all` and `any` need `i1`.

    ```mlir
    %s = gfl.reduce <sum> %t : tensor<2x3xf32> -> f32
    ```
  }];
  let arguments = (ins Gfl_ReduceKindAttr:$kind, Gfl_StaticTensor:$input);
  let results = (outs Gfl_Scalar:$result);
  let assemblyFormat =
      "$kind $input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let builders = [
    // Result type: the element type of `input`.
    OpBuilder<(ins "ReduceKind":$kind, "::mlir::Value":$input)>
  ];
}

def Gfl_RangeReduceOp : Gfl_Op<"range_reduce", [RecursiveMemoryEffects]> {
  let summary = "reduction over an integer range";
  let description = [{
    Evaluates the body for every `%i` in the half-open range `[lo, hi)` and
    combines the yielded values with `kind`. The body has one `index`
    argument and yields one value of the result type (`i1` for `all` and
    `any`; `i32` or `f32` for `sum`, `prod`, `min`, `max`; `f32` for
    `logsumexp`).

    An empty range (`hi <= lo`) gives the identity of the reduction: 0 for
    `sum`, 1 for `prod`, true for `all`, false for `any`, +inf for `min`
    (INT32_MAX on i32), -inf for `max` (INT32_MIN on i32) and for
    `logsumexp`.

    Canonicalization inlines the body when `lo` and `hi` are constants with
    `hi == lo + 1`.

    ```mlir
    %r = gfl.range_reduce <sum> %lo to %hi : f32 {
    ^bb0(%i: index):
      ...
      gfl.yield %v : f32
    }
    ```
  }];
  let arguments = (ins Gfl_ReduceKindAttr:$kind, Index:$lo, Index:$hi);
  let results = (outs Gfl_Scalar:$result);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat =
      "$kind $lo `to` $hi attr-dict `:` type($result) $body";
  let hasRegionVerifier = 1;
  let hasCanonicalizer = 1;
  let builders = [
    // Creates the body block with its index argument and calls
    // `bodyBuilder(builder, loc, %i)` inside it, which must create the
    // gfl.yield. (The default builder
    // `build(b, state, resultType, kind, lo, hi)` leaves the body empty.)
    OpBuilder<(ins "::mlir::Type":$resultType, "ReduceKind":$kind,
                   "::mlir::Value":$lo, "::mlir::Value":$hi,
                   "::llvm::function_ref<void(::mlir::OpBuilder &, "
                   "::mlir::Location, ::mlir::Value)>":$bodyBuilder)>
  ];
}

def Gfl_OnehotOp : Gfl_Op<"onehot", [Pure]> {
  let summary = "one-hot encoding";
  let description = [{
    Encodes every `i32` element as a row of `classes` `f32` values with a 1
    at the element's value. The result shape is the operand shape followed
    by `classes`. Values outside `[0, classes)` give an all-zero row.

    ```mlir
    %h = gfl.onehot %x classes 8 : tensor<2xi32> -> tensor<2x8xf32>
    %s = gfl.onehot %i classes 8 : i32 -> tensor<8xf32>
    ```
  }];
  let arguments = (ins AnyTypeOf<[I32, StaticShapeTensorOf<[I32]>]>:$input,
                       ConfinedAttr<I64Attr, [IntPositive]>:$classes);
  let results = (outs StaticShapeTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $input `classes` $classes attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
  let builders = [
    // Result type: operand shape + [classes], f32.
    OpBuilder<(ins "::mlir::Value":$input, "int64_t":$classes)>
  ];
}

def Gfl_ConcatOp : Gfl_Op<"concat",
    [Pure, SameOperandsAndResultElementType]> {
  let summary = "concatenate 1-D tensors";
  let description = [{
    Concatenates one or more 1-D statically shaped tensors with the same
    element type; the result size is the sum of the operand sizes.

    ```mlir
    %c = gfl.concat %a, %b : tensor<16xf32>, tensor<3xf32> -> tensor<19xf32>
    ```
  }];
  let arguments = (ins Variadic<Gfl_StaticVector>:$inputs);
  let results = (outs Gfl_StaticVector:$result);
  let assemblyFormat =
      "$inputs attr-dict `:` type($inputs) `->` type($result)";
  let hasVerifier = 1;
  let builders = [
    // Result type inferred from the operands (at least one).
    OpBuilder<(ins "::mlir::ValueRange":$inputs)>
  ];
}

def Gfl_ClosureOp : Gfl_Op<"closure",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "transitive closure of a directed graph";
  let description = [{
    `input` is the adjacency matrix of a directed graph (`input[i, j]`: an
    edge i -> j). The result is true at `[i, j]` when a path of one or more
    edges leads from i to j; `result[i, i]` is true only on a cycle through
    i. DAG environments test acyclicity with it (`closure(adj)[j, i]`
    before adding i -> j).

    ```mlir
    %r = gfl.closure %adj : tensor<4x4xi1>
    ```
  }];
  let arguments = (ins TensorRankOf<[I1], [2]>:$input);
  let results = (outs TensorRankOf<[I1], [2]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Gfl_MaskedLogSoftmaxOp : Gfl_Op<"masked_log_softmax", [Pure]> {
  let summary = "log-softmax over the unmasked entries";
  let description = [{
    Computes `log_softmax` of `logits` over the entries whose `mask` is true;
    masked-out entries get -inf. If every entry is masked out, the result is
    all -inf.

    ```mlir
    %lp = gfl.masked_log_softmax %logits, %mask
        : tensor<4xf32>, tensor<4xi1> -> tensor<4xf32>
    ```
  }];
  let arguments = (ins TensorRankOf<[F32], [1]>:$logits,
                       TensorRankOf<[I1], [1]>:$mask);
  let results = (outs TensorRankOf<[F32], [1]>:$result);
  let assemblyFormat = [{
    $logits `,` $mask attr-dict `:` type($logits) `,` type($mask) `->`
    type($result)
  }];
  let hasVerifier = 1;
  let builders = [
    // Result type: the type of `logits`.
    OpBuilder<(ins "::mlir::Value":$logits, "::mlir::Value":$mask)>
  ];
}

//===----------------------------------------------------------------------===//
// Objective ops
//===----------------------------------------------------------------------===//

def Gfl_ObjectiveOp : Gfl_Op<"objective",
    [Symbol, IsolatedFromAbove, SingleBlock]> {
  let summary = "per-trajectory training objective";
  let description = [{
    A training objective. The body's first argument is the trajectory
    (`!gfl.traj`); the others are scalar hyper-parameters (`f32`, `i32` or
    `i1`), whose default values `defaults` may give (one typed attribute
    per extra argument). The body yields the per-trajectory loss (`f32`);
    the batch loss is its mean over the batch.

    ```mlir
    gfl.objective @subtb defaults [9.000000e-01 : f32] {
    ^bb0(%t: !gfl.traj, %lambda: f32):
      ...
      gfl.yield %loss : f32
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       OptionalAttr<ArrayAttr>:$defaults);
  let regions = (region SizedRegion<1>:$bodyRegion);
  let assemblyFormat = [{
    $sym_name (`defaults` $defaults^)? attr-dict-with-keyword $bodyRegion
  }];
  let hasRegionVerifier = 1;
  let builders = [
    // Creates the entry block with arguments (!gfl.traj, extraArgTypes...);
    // fill it with `OpBuilder::atBlockEnd(obj.getBody())` and end it with a
    // gfl.yield of the loss.
    OpBuilder<(ins "::llvm::StringRef":$name,
                   "::mlir::TypeRange":$extraArgTypes,
                   CArg<"::mlir::ArrayAttr", "{}">:$defaults)>
  ];
  let extraClassDeclaration = [{
    /// The trajectory argument.
    ::mlir::BlockArgument getTraj() { return getBody()->getArgument(0); }
    /// The extra (hyper-parameter) arguments.
    ::mlir::Block::BlockArgListType getExtraArgs() {
      return getBody()->getArguments().drop_front();
    }
  }];
}

def Gfl_TrajSeqOp : Gfl_Op<"traj_seq", [Pure]> {
  let summary = "per-step quantity of a trajectory";
  let description = [{
    A per-step quantity of a trajectory s0 -> ... -> sn -> exit with n
    non-exit transitions:

    - `log_pf`: log P_F of every transition including the exit (n+1);
    - `log_pb`: log P_B of every non-exit transition (n);
    - `log_f`: log state flow of every state s0..sn (n+1);
    - `log_r_step`: per-state log-reward of s0..sn (n+1);
    - `energy`: per-state energy of s0..sn (n+1);
    - `log_pf_exit`: log P_F(exit | s) of s0..sn (n+1), for objectives where
      every state may terminate;
    - `log_in_flow`, `log_out_flow`, `log_exit_flow`: with the policy head
      read as log edge flows log F(s -> s'), the log of the summed flow into
      each of s0..sn from all its parents (-inf for s0), out of it over its
      allowed actions (the exit included), and of its exit edge (n+1 each).

    ```mlir
    %pf = gfl.traj_seq <log_pf> %t : !gfl.seq<f32>
    ```
  }];
  let arguments = (ins Gfl_TrajSeqFieldAttr:$field, Gfl_TrajType:$traj);
  let results = (outs Gfl_F32Seq:$result);
  let assemblyFormat = "$field $traj attr-dict `:` type($result)";
  let builders = [
    // Result type: !gfl.seq<f32>.
    OpBuilder<(ins "TrajSeqField":$field, "::mlir::Value":$traj)>
  ];
}

def Gfl_TrajScalarOp : Gfl_Op<"traj_scalar", [Pure]> {
  let summary = "scalar quantity of a trajectory";
  let description = [{
    `log_r`: the log-reward of the trajectory's terminal state; `log_z`: the
    learned estimate of the log-partition function (for this trajectory's
    conditioning); `exited`: 1.0 when the trajectory ended with the exit
    action (so `log_pf` has an exit entry), 0.0 when it ended by itself.

    ```mlir
    %lr = gfl.traj_scalar <log_r> %t : f32
    ```
  }];
  let arguments = (ins Gfl_TrajScalarFieldAttr:$field, Gfl_TrajType:$traj);
  let results = (outs F32:$result);
  let assemblyFormat = "$field $traj attr-dict `:` type($result)";
}

def Gfl_TrajLenOp : Gfl_Op<"traj_len", [Pure]> {
  let summary = "number of non-exit transitions of a trajectory";
  let description = [{
    The number n of non-exit transitions of the trajectory (its states are
    s0..sn).

    ```mlir
    %n = gfl.traj_len %t : index
    ```
  }];
  let arguments = (ins Gfl_TrajType:$traj);
  let results = (outs Index:$result);
  let assemblyFormat = "$traj attr-dict `:` type($result)";
}

def Gfl_SeqAtOp : Gfl_Op<"seq_at", [Pure,
    TypesMatchWith<"result type is the sequence element type", "seq",
                   "result",
                   "::llvm::cast<::mlir::gfl::SeqType>($_self)"
                   ".getElementType()">]> {
  let summary = "element of a sequence";
  let description = [{
    Entry `index` of the sequence. Reading at or beyond the valid length
    (or at a negative index) yields 0 (false for `i1`).

    ```mlir
    %v = gfl.seq_at %s[%k] : !gfl.seq<f32>
    ```
  }];
  let arguments = (ins Gfl_AnySeq:$seq, Index:$index);
  let results = (outs Gfl_Scalar:$result);
  let assemblyFormat = "$seq `[` $index `]` attr-dict `:` type($seq)";
}

def Gfl_SeqReduceOp : Gfl_Op<"seq_reduce", [Pure]> {
  let summary = "reduction over the valid entries of a sequence";
  let description = [{
    Reduces the valid entries of a sequence to a scalar of its element type.
    `f32` sequences allow `sum`, `min`, `max`, `logsumexp`; `i32` sequences
    `sum`, `prod`, `min`, `max`; `i1` sequences `all`, `any`. An empty
    sequence gives the identity (see `gfl.range_reduce`).

    ```mlir
    %s = gfl.seq_reduce <sum> %pf : !gfl.seq<f32> -> f32
    ```
  }];
  let arguments = (ins Gfl_ReduceKindAttr:$kind, Gfl_AnySeq:$seq);
  let results = (outs Gfl_Scalar:$result);
  let assemblyFormat =
      "$kind $seq attr-dict `:` type($seq) `->` type($result)";
  let hasVerifier = 1;
  let builders = [
    // Result type: the element type of `seq`.
    OpBuilder<(ins "ReduceKind":$kind, "::mlir::Value":$seq)>
  ];
}

def Gfl_SeqCumsumOp : Gfl_Op<"seq_cumsum", [Pure, SameOperandsAndResultType]> {
  let summary = "inclusive prefix sums of a sequence";
  let description = [{
    Entry k of the result is the sum of entries 0..k of the operand; the
    valid length is unchanged.

    ```mlir
    %c = gfl.seq_cumsum %s : !gfl.seq<f32>
    ```
  }];
  let arguments = (ins Gfl_NumericSeq:$seq);
  let results = (outs Gfl_NumericSeq:$result);
  let assemblyFormat = "$seq attr-dict `:` type($seq)";
}

def Gfl_SeqBuildOp : Gfl_Op<"seq_build", [RecursiveMemoryEffects]> {
  let summary = "a sequence from an expression of its index";
  let description = [{
    `seq(k in 0..len: e)`: a sequence of valid length `len` whose entry `k`
    is the body's value at `%k`. The body has one `index` argument and
    yields an `f32`.

    ```mlir
    %s = gfl.seq_build %len : !gfl.seq<f32> {
    ^bb0(%k: index):
      ...
      gfl.yield %v : f32
    }
    ```
  }];
  let arguments = (ins Index:$len);
  let results = (outs Gfl_F32Seq:$result);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$len attr-dict `:` type($result) $body";
  let hasRegionVerifier = 1;
  let builders = [
    // Creates the body block with its index argument and calls
    // `bodyBuilder(builder, loc, %k)` inside it, which must create the
    // gfl.yield.
    OpBuilder<(ins "::mlir::Type":$resultType, "::mlir::Value":$len,
                   "::llvm::function_ref<void(::mlir::OpBuilder &, "
                   "::mlir::Location, ::mlir::Value)>":$bodyBuilder)>
  ];
}

def Gfl_SeqReturnsOp : Gfl_Op<"seq_returns",
    [Pure, AllTypesMatch<["seq", "result"]>]> {
  let summary = "discounted returns of a sequence of rewards";
  let description = [{
    Entry k of the result is `sum_{j >= k} gamma^(j - k) seq[j]` over the
    valid entries (a reverse discounted cumulative sum); the valid length
    is unchanged. The gradient flows to `seq`, not to `gamma`.

    ```mlir
    %g = gfl.seq_returns %r, %gamma : !gfl.seq<f32>
    ```
  }];
  let arguments = (ins Gfl_F32Seq:$seq, F32:$gamma);
  let results = (outs Gfl_F32Seq:$result);
  let assemblyFormat = "$seq `,` $gamma attr-dict `:` type($result)";
}

def Gfl_SeqGaeOp : Gfl_Op<"seq_gae",
    [Pure, AllTypesMatch<["rewards", "values", "result"]>]> {
  let summary = "generalized advantage estimates";
  let description = [{
    GAE(gamma, lambda) (Schulman et al. 2016) of per-step rewards r (valid
    length L) and per-state values v: with
    `delta_k = r_k + gamma v_{k+1} - v_k` (`v_{k+1}` taken as 0 when
    `k + 1 >= L`: no value after the last step), entry k of the result is
    `sum_{j >= k} (gamma lambda)^(j - k) delta_j`, for k < L. The gradient
    flows to r and v, not to gamma or lambda.

    ```mlir
    %a = gfl.seq_gae %r, %v, %gamma, %lambda : !gfl.seq<f32>
    ```
  }];
  let arguments = (ins Gfl_F32Seq:$rewards, Gfl_F32Seq:$values, F32:$gamma,
                       F32:$lambda);
  let results = (outs Gfl_F32Seq:$result);
  let assemblyFormat = [{
    $rewards `,` $values `,` $gamma `,` $lambda attr-dict `:` type($result)
  }];
}

def Gfl_LogsumexpOp : Gfl_Op<"logsumexp", [Pure]> {
  let summary = "log-sum-exp of scalars";
  let description = [{
    `log(exp(a) + exp(b) + ...)` of one or more `f32` operands, computed
    stably. A single operand folds to itself.

    ```mlir
    %l = gfl.logsumexp %a, %b, %c : f32
    ```
  }];
  let arguments = (ins Variadic<F32>:$inputs);
  let results = (outs F32:$result);
  let assemblyFormat = "$inputs attr-dict `:` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Gfl_StopGradOp : Gfl_Op<"stop_grad", [Pure, SameOperandsAndResultType]> {
  let summary = "identity with zero gradient";
  let description = [{
    Returns its operand unchanged; differentiation treats the result as a
    constant (zero gradient). `stop_grad(stop_grad(x))` folds to the inner
    `stop_grad`.

    ```mlir
    %y = gfl.stop_grad %x : f32
    ```
  }];
  let arguments = (ins Gfl_F32OrF32Tensor:$input);
  let results = (outs Gfl_F32OrF32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasFolder = 1;
}

def Gfl_HuberOp : Gfl_Op<"huber", [Pure, SameOperandsAndResultType]> {
  let summary = "Huber residual";
  let description = [{
    `0.5 * x^2` if `|x| <= delta`, else `delta * (|x| - 0.5 * delta)`.

    ```mlir
    %h = gfl.huber %x, %delta : f32
    ```
  }];
  let arguments = (ins F32:$input, F32:$delta);
  let results = (outs F32:$result);
  let assemblyFormat = "$input `,` $delta attr-dict `:` type($result)";
}

def Gfl_BatchReduceOp : Gfl_Op<"batch_reduce",
    [NoMemoryEffect, SameOperandsAndResultType]> {
  let summary = "collective reduction over the batch";
  let description = [{
    A batch collective: every trajectory of the batch gets the batch mean
    (or sum) of `input` over all trajectories. It has no memory effects, but
    unlike the other ops it is not a per-trajectory function: its value
    depends on the whole batch, so it must not be moved into control flow
    that differs between trajectories.

    ```mlir
    %m = gfl.batch_reduce <mean> %x : f32
    ```
  }];
  let arguments = (ins Gfl_BatchReduceKindAttr:$kind, F32:$input);
  let results = (outs F32:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($result)";
}

#endif // GFL_DIALECT_GFLOPS_TD
