//===- EnvOps.cpp - gfl.env and its children ------------------------------===//
//
// Builders, helpers and verifiers of gfl.env, gfl.state, gfl.action,
// gfl.stop, gfl.terminal, gfl.log_reward and gfl.features.
//
//===----------------------------------------------------------------------===//

#include "GflOpsCommon.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;
using namespace mlir::gfl;

//===----------------------------------------------------------------------===//
// EnvOp
//===----------------------------------------------------------------------===//

void EnvOp::build(OpBuilder &builder, OperationState &state, StringRef name) {
  state.getOrAddProperties<Properties>().sym_name = builder.getStringAttr(name);
  Region *body = state.addRegion();
  body->push_back(new Block());
}

SmallVector<StateOp, 4> EnvOp::getStates() {
  return llvm::to_vector(getBody()->getOps<StateOp>());
}

SmallVector<Type> EnvOp::getStateTypes() {
  return llvm::map_to_vector(getBody()->getOps<StateOp>(),
                             [](StateOp state) { return state.getType(); });
}

SmallVector<ActionOp, 4> EnvOp::getActions() {
  return llvm::to_vector(getBody()->getOps<ActionOp>());
}

/// The first child of type OpTy of `block`, or null.
template <typename OpTy> static OpTy getFirstChild(Block *block) {
  auto ops = block->getOps<OpTy>();
  return ops.empty() ? OpTy() : *ops.begin();
}

StopOp EnvOp::getStop() { return getFirstChild<StopOp>(getBody()); }
TerminalOp EnvOp::getTerminal() { return getFirstChild<TerminalOp>(getBody()); }
LogRewardOp EnvOp::getLogReward() {
  return getFirstChild<LogRewardOp>(getBody());
}
ProxyRewardOp EnvOp::getProxyReward() {
  return getFirstChild<ProxyRewardOp>(getBody());
}
FeaturesOp EnvOp::getFeatures() { return getFirstChild<FeaturesOp>(getBody()); }
StepRewardOp EnvOp::getStepReward() {
  return getFirstChild<StepRewardOp>(getBody());
}

int64_t EnvOp::getNumFlatActions() {
  int64_t count = getStop() ? 1 : 0;
  for (ActionOp action : getBody()->getOps<ActionOp>())
    count += action.getNumActions();
  return count;
}

SmallVector<ConditionOp, 2> EnvOp::getConditions() {
  return llvm::to_vector<2>(getBody()->getOps<ConditionOp>());
}

SmallVector<Type> EnvOp::getConditionTypes() {
  return llvm::map_to_vector(getConditions(),
                             [](ConditionOp c) { return c.getType(); });
}

SmallVector<Type> EnvOp::getRegionArgTypes(Operation *child) {
  SmallVector<Type> types = getStateTypes();
  if (auto action = dyn_cast<ActionOp>(child))
    types.append(action.getNumParams(), IntegerType::get(getContext(), 32));
  if (isa<LogRewardOp>(child))
    types.append(getConditionTypes());
  return types;
}

/// Name of region `index` of `op` for diagnostics.
static StringRef getRegionName(Operation *op, unsigned index) {
  if (isa<ActionOp>(op)) {
    static const char *const names[] = {"guard", "update", "undo"};
    return names[index];
  }
  if (isa<StopOp>(op))
    return "guard";
  return "body";
}

/// Checks that the entry block of `region` (of env child `op`) takes
/// `expected` arguments: `numStates` state values then action parameters.
static LogicalResult verifyStateArgs(Operation *op, Region &region,
                                     StringRef regionName,
                                     ArrayRef<Type> expected,
                                     ArrayRef<StateOp> states) {
  Block &block = region.front();
  size_t numStates = states.size();
  size_t numParams = expected.size() - numStates;
  if (block.getNumArguments() != expected.size()) {
    InFlightDiagnostic diag = op->emitOpError()
                              << "region '" << regionName << "' expects "
                              << numStates << " state argument(s)";
    if (isa<ActionOp>(op))
      diag << " and " << numParams << " parameter argument(s)";
    if (isa<LogRewardOp>(op) && numParams > 0)
      diag << " and " << numParams << " condition argument(s)";
    diag << ", got " << block.getNumArguments() << " argument(s)";
    return diag;
  }
  for (auto [i, arg] : llvm::enumerate(block.getArguments())) {
    if (arg.getType() == expected[i])
      continue;
    InFlightDiagnostic diag = op->emitOpError()
                              << "region '" << regionName << "' argument #" << i
                              << " has type " << arg.getType() << ", expected "
                              << expected[i];
    if (i < numStates)
      diag << " (state \"" << StateOp(states[i]).getName() << "\")";
    else if (isa<LogRewardOp>(op))
      diag << " (condition #" << i - numStates << ")";
    else
      diag << " (action parameter #" << i - numStates << ")";
    return diag;
  }
  return success();
}

LogicalResult EnvOp::verifyRegions() {
  Block *body = getBody();
  llvm::StringMap<StateOp> stateNames;
  llvm::StringMap<ActionOp> actionNames;
  unsigned numStops = 0, numTerminals = 0, numLogRewards = 0, numFeatures = 0,
           numStepRewards = 0;
  for (Operation &op : *body) {
    if (auto state = dyn_cast<StateOp>(op)) {
      auto [it, inserted] = stateNames.try_emplace(state.getName(), state);
      if (!inserted)
        return state.emitOpError() << "redefines state \"" << state.getName()
                                   << "\" of 'gfl.env' " << getSymNameAttr();
    } else if (auto action = dyn_cast<ActionOp>(op)) {
      auto [it, inserted] = actionNames.try_emplace(action.getName(), action);
      if (!inserted)
        return action.emitOpError() << "redefines action \"" << action.getName()
                                    << "\" of 'gfl.env' " << getSymNameAttr();
    } else if (isa<StopOp>(op)) {
      ++numStops;
    } else if (isa<TerminalOp>(op)) {
      ++numTerminals;
    } else if (isa<LogRewardOp, ProxyRewardOp>(op)) {
      ++numLogRewards;
    } else if (isa<FeaturesOp>(op)) {
      ++numFeatures;
    } else if (isa<StepRewardOp>(op)) {
      ++numStepRewards;
    } else if (auto cond = dyn_cast<ConditionOp>(op)) {
      if (stateNames.count(cond.getName()))
        return cond.emitOpError() << "redefines state \"" << cond.getName()
                                  << "\" of 'gfl.env' " << getSymNameAttr();
    } else {
      InFlightDiagnostic diag =
          emitOpError() << "body may only contain gfl.state, gfl.condition, "
                           "gfl.action, gfl.stop, gfl.terminal, "
                           "gfl.log_reward, gfl.proxy_reward, "
                           "gfl.step_reward and gfl.features, found '"
                        << op.getName() << "'";
      diag.attachNote(op.getLoc()) << "see operation";
      return diag;
    }
  }

  if (stateNames.empty())
    return emitOpError() << "expects at least one 'gfl.state'";
  if (actionNames.empty() && numStops == 0)
    return emitOpError() << "expects at least one 'gfl.action' or 'gfl.stop'";
  if (numLogRewards != 1)
    return emitOpError() << "expects exactly one 'gfl.log_reward' or "
                            "'gfl.proxy_reward', got "
                         << numLogRewards;
  for (auto [count, name] :
       {std::pair<unsigned, StringRef>{numStops, "gfl.stop"},
        {numTerminals, "gfl.terminal"},
        {numFeatures, "gfl.features"},
        {numStepRewards, "gfl.step_reward"}}) {
    if (count > 1)
      return emitOpError() << "expects at most one '" << name << "', got "
                           << count;
  }

  // Region signatures: state args (+ action params), and the state-typed
  // yields of action updates and undos.
  SmallVector<StateOp, 4> states = getStates();
  SmallVector<Type> stateTypes = getStateTypes();
  for (Operation &op : *body) {
    if (op.getNumRegions() == 0)
      continue;
    SmallVector<Type> argTypes = getRegionArgTypes(&op);
    for (auto [index, region] : llvm::enumerate(op.getRegions())) {
      if (region.empty())
        continue;
      StringRef regionName = getRegionName(&op, index);
      if (failed(verifyStateArgs(&op, region, regionName, argTypes, states)))
        return failure();
    }
    if (auto action = dyn_cast<ActionOp>(op)) {
      if (failed(common::verifyYieldTypes(action, action.getUpdate(), "update",
                                          stateTypes)) ||
          failed(common::verifyYieldTypes(action, action.getUndo(), "undo",
                                          stateTypes)))
        return failure();
    }
  }
  return success();
}

//===----------------------------------------------------------------------===//
// StateOp
//===----------------------------------------------------------------------===//

LogicalResult StateOp::verify() {
  Type type = getType();
  Type elemType = type;
  if (auto tensorType = dyn_cast<RankedTensorType>(type)) {
    if (!tensorType.hasStaticShape())
      return emitOpError() << "tensor state type must have a static shape, got "
                           << type;
    elemType = tensorType.getElementType();
  }
  if (!common::isScalarType(elemType))
    return emitOpError() << "state type must be i32, f32, i1 or a statically "
                            "shaped tensor of them, got "
                         << type;

  TypedAttr init = getInit();
  if (init.getType() != type)
    return emitOpError() << "init value type " << init.getType()
                         << " does not match the state type " << type;
  bool initKindOk = isa<RankedTensorType>(type)
                        ? isa<DenseElementsAttr>(init)
                        : isa<IntegerAttr, FloatAttr>(init);
  if (!initKindOk)
    return emitOpError() << "init must be a dense elements attribute for a "
                            "tensor state and an integer or float attribute "
                            "for a scalar state";

  if (getDomainLoAttr().operator bool() != getDomainHiAttr().operator bool())
    return emitOpError() << "expects both 'domain_lo' and 'domain_hi' or "
                            "neither";
  if (!hasDomain())
    return success();
  if (!elemType.isSignlessInteger(32))
    return emitOpError() << "domain is only allowed on int (i32) states, got "
                         << type;
  int64_t lo = getDomainLoAttr().getInt();
  int64_t hi = getDomainHiAttr().getInt();
  if (lo >= hi)
    return emitOpError() << "domain [" << lo << ", " << hi << ") is empty";

  SmallVector<int64_t> values;
  if (auto dense = dyn_cast<DenseElementsAttr>(init))
    for (const APInt &value : dense.getValues<APInt>())
      values.push_back(value.getSExtValue());
  else
    values.push_back(cast<IntegerAttr>(init).getValue().getSExtValue());
  for (int64_t value : values)
    if (value < lo || value >= hi)
      return emitOpError() << "init value " << value
                           << " is outside the domain [" << lo << ", " << hi
                           << ")";
  return success();
}

//===----------------------------------------------------------------------===//
// ConditionOp
//===----------------------------------------------------------------------===//

int64_t ConditionOp::getSize() {
  auto tensor = dyn_cast<RankedTensorType>(getType());
  return tensor ? tensor.getNumElements() : 1;
}

LogicalResult ConditionOp::verify() {
  Type type = getType();
  auto tensor = dyn_cast<RankedTensorType>(type);
  bool ok = type.isF32() ||
            (tensor && tensor.getRank() == 1 && tensor.hasStaticShape() &&
             tensor.getElementType().isF32());
  if (!ok)
    return emitOpError() << "type must be f32 or a 1-D tensor of f32, got "
                         << type;
  StringRef dist = getDistribution();
  int64_t size = getSize();
  if (dist == "uniform" || dist == "loguniform") {
    if (tensor)
      return emitOpError() << "a " << dist << " condition is an f32";
    if (getParams().size() != 2 || !(getParams()[0] < getParams()[1]))
      return emitOpError() << dist << " expects params [lo, hi] with lo < hi";
    if (dist == "loguniform" && !(getParams()[0] > 0))
      return emitOpError() << "loguniform expects 0 < lo";
  } else if (dist == "dirichlet") {
    if (!tensor || size < 2)
      return emitOpError() << "a dirichlet condition is a tensor of at least "
                              "2 components";
    if (static_cast<int64_t>(getParams().size()) != size)
      return emitOpError() << "dirichlet expects one concentration per "
                              "component ("
                           << size << "), got " << getParams().size();
    for (double a : getParams())
      if (!(a > 0))
        return emitOpError() << "dirichlet concentrations must be positive";
  } else {
    return emitOpError() << "unknown distribution \"" << dist
                         << "\"; expected uniform, loguniform or dirichlet";
  }
  if (static_cast<int64_t>(getValue().size()) != size)
    return emitOpError() << "value has " << getValue().size()
                         << " element(s), expected " << size;
  return success();
}

//===----------------------------------------------------------------------===//
// ActionOp
//===----------------------------------------------------------------------===//

int64_t ActionOp::getNumActions() {
  int64_t count = 1;
  for (int64_t i = 0, e = getNumParams(); i < e; ++i) {
    auto [lo, hi] = getParamRange(i);
    count *= hi - lo;
  }
  return count;
}

LogicalResult ActionOp::verify() {
  ArrayRef<int64_t> ranges = getParamRanges();
  if (ranges.size() % 2 != 0)
    return emitOpError() << "param_ranges must hold (lo, hi) pairs, got "
                         << ranges.size() << " values";
  for (int64_t i = 0, e = getNumParams(); i < e; ++i) {
    auto [lo, hi] = getParamRange(i);
    if (lo >= hi)
      return emitOpError() << "parameter #" << i << " has an empty range ["
                           << lo << ", " << hi << ")";
  }
  return success();
}

LogicalResult ActionOp::verifyRegions() {
  return common::verifyYieldTypes(*this, getGuard(), "guard",
                                  IntegerType::get(getContext(), 1));
}

//===----------------------------------------------------------------------===//
// StopOp, TerminalOp, LogRewardOp, FeaturesOp
//===----------------------------------------------------------------------===//

LogicalResult StopOp::verifyRegions() {
  return common::verifyYieldTypes(*this, getGuard(), "guard",
                                  IntegerType::get(getContext(), 1));
}

LogicalResult TerminalOp::verifyRegions() {
  return common::verifyYieldTypes(*this, getBody(), "body",
                                  IntegerType::get(getContext(), 1));
}

LogicalResult LogRewardOp::verifyRegions() {
  return common::verifyYieldTypes(*this, getBody(), "body",
                                  Float32Type::get(getContext()));
}

LogicalResult ProxyRewardOp::verifyRegions() {
  Type expected = RankedTensorType::get({getSizeAttr().getInt()},
                                        Float32Type::get(getContext()));
  return common::verifyYieldTypes(*this, getBody(), "body", expected);
}

LogicalResult StepRewardOp::verifyRegions() {
  return common::verifyYieldTypes(*this, getBody(), "body",
                                  Float32Type::get(getContext()));
}

LogicalResult FeaturesOp::verifyRegions() {
  Type expected = RankedTensorType::get({getSizeAttr().getInt()},
                                        Float32Type::get(getContext()));
  return common::verifyYieldTypes(*this, getBody(), "body", expected);
}
