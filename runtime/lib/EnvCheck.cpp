//===- EnvCheck.cpp - Is an enumerable env a well-posed GFlowNet env? -----===//

#include "gfl/Runtime/EnvCheck.h"
#include "gfl/Runtime/StateGraph.h"

#include <cmath>
#include <cstring>
#include <unordered_map>

namespace gfl {

namespace {

/// What the first forward pass records for every state (by code).
enum Undo : uint8_t { kUndoOk, kUndoMasked, kUndoWrong };
enum Reward : uint8_t { kRewardOk, kRewardNaN, kRewardPosInf, kRewardZero };

class EnvChecker {
public:
  EnvChecker(const Program &program, int64_t chunk)
      : p_(program), env_(program.env()), S_(env_.stateCount),
        M_(env_.numBackwardActions), chunk_(std::max<int64_t>(chunk, 1)) {}

  EnvCheckReport run();

private:
  State decode(int64_t lo, int64_t hi) const {
    return p_.stateDecode(torch::arange(lo, hi, p_.options(torch::kInt64)));
  }
  State one(int64_t code) const { return decode(code, code + 1); }
  std::string describe(int64_t code) const { return p_.describe(one(code), 0); }
  std::string action(int64_t a) const {
    return describeAction(*p_.manifest().get("env"), a);
  }
  torch::Tensor actions(int64_t rows, int64_t a) const {
    return torch::full({rows}, a, p_.options(torch::kInt32));
  }
  torch::Tensor condition(int64_t rows) const {
    return p_.defaultCondition(rows);
  }

  void forwardPass();
  void walk();
  void backwardPass();
  void report(EnvCheckReport &r);
  void add(EnvCheckReport &r, const char *kind, int64_t count,
           std::string example) const {
    if (count > 0)
      r.findings.push_back({kind, count, std::move(example)});
  }
  /// The first state (by code) that shows a finding, counting all of them.
  template <typename Pred>
  std::pair<int64_t, int64_t> firstReachable(Pred pred) const {
    int64_t first = -1, count = 0;
    for (int64_t i = 0; i < S_; ++i)
      if (reached_[i] && pred(i)) {
        if (first < 0)
          first = i;
        ++count;
      }
    return {count, first};
  }

  const Program &p_;
  const EnvSpec &env_;
  int64_t S_, M_, chunk_;
  int64_t s0_ = -1;
  // Forward edges by state code (CSR).
  std::vector<int64_t> offsets_, children_;
  std::vector<int32_t> childAction_;
  // The first offending action of each state, or -1.
  std::vector<int32_t> leaving_, undoAction_, parentAction_;
  std::vector<uint8_t> undo_, reward_, canEnd_, deadEnd_, badFeatures_;
  std::vector<uint64_t> featureHash_;
  std::vector<uint8_t> reached_;
  int64_t cycle_ = -1;
  // backward-allowed parent outside the domain (-1), unreachable (code) or
  // reachable without the forward action (code): per state, with its action.
  std::vector<int64_t> parent_;
  std::vector<uint8_t> parentKind_;
};

uint64_t hashBytes(const void *data, size_t n) {
  // FNV-1a: collisions are confirmed on the features themselves.
  const auto *b = static_cast<const uint8_t *>(data);
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i)
    h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

void EnvChecker::forwardPass() {
  offsets_.assign(1, 0);
  leaving_.assign(S_, -1);
  undoAction_.assign(S_, -1);
  undo_.assign(S_, kUndoOk);
  reward_.assign(S_, kRewardOk);
  canEnd_.assign(S_, 0);
  deadEnd_.assign(S_, 0);
  badFeatures_.assign(S_, 0);
  featureHash_.assign(S_, 0);
  for (int64_t lo = 0; lo < S_; lo += chunk_) {
    int64_t hi = std::min(S_, lo + chunk_), C = hi - lo;
    State states = decode(lo, hi);
    torch::Tensor mask = p_.forwardMask(states).cpu();
    torch::Tensor terminal = p_.terminal(states).cpu();
    auto maskA = mask.accessor<bool, 2>();
    auto termA = terminal.accessor<bool, 1>();
    std::vector<std::vector<std::pair<int64_t, int32_t>>> edges(C);
    for (int64_t a = 0; a < M_; ++a) {
      State next = p_.step(states, actions(C, a)).first;
      torch::Tensor idx = p_.stateIndex(next).cpu();
      torch::Tensor back = p_.backwardMask(next).select(1, a).cpu();
      torch::Tensor undone =
          p_.stateIndex(p_.backwardStep(next, actions(C, a))).cpu();
      auto idxA = idx.accessor<int64_t, 1>();
      auto backA = back.accessor<bool, 1>();
      auto undoneA = undone.accessor<int64_t, 1>();
      for (int64_t r = 0; r < C; ++r) {
        if (!maskA[r][a])
          continue;
        int64_t code = lo + r;
        if (idxA[r] < 0 || idxA[r] >= S_) {
          if (leaving_[code] < 0)
            leaving_[code] = static_cast<int32_t>(a);
          continue;
        }
        edges[r].push_back({idxA[r], static_cast<int32_t>(a)});
        if (undo_[code] == kUndoOk && (!backA[r] || undoneA[r] != code)) {
          undo_[code] = backA[r] ? kUndoWrong : kUndoMasked;
          undoAction_[code] = static_cast<int32_t>(a);
        }
      }
    }
    for (int64_t r = 0; r < C; ++r) {
      for (auto [c, a] : edges[r]) {
        children_.push_back(c);
        childAction_.push_back(a);
      }
      offsets_.push_back(static_cast<int64_t>(children_.size()));
      bool any = false;
      for (int64_t a = 0; a < env_.numActions && !any; ++a)
        any = maskA[r][a];
      deadEnd_[lo + r] = !termA[r] && !any;
      canEnd_[lo + r] =
          termA[r] || (env_.hasStop && maskA[r][env_.numActions - 1]);
    }
    torch::Tensor logR =
        p_.logReward(states, condition(C)).cpu().to(torch::kFloat64);
    auto logRA = logR.accessor<double, 1>();
    for (int64_t r = 0; r < C; ++r) {
      double v = logRA[r];
      reward_[lo + r] = std::isnan(v)    ? kRewardNaN
                        : v == INFINITY  ? kRewardPosInf
                        : v == -INFINITY ? kRewardZero
                                         : kRewardOk;
    }
    // + 0: -0.0 and 0.0 are the same feature (and hash alike).
    torch::Tensor feats =
        (p_.features(states).cpu().to(torch::kFloat32) + 0.0f).contiguous();
    torch::Tensor finite = feats.isfinite().all(1);
    auto finA = finite.accessor<bool, 1>();
    int64_t F = feats.size(1);
    const float *f = feats.data_ptr<float>();
    for (int64_t r = 0; r < C; ++r) {
      badFeatures_[lo + r] = !finA[r];
      featureHash_[lo + r] = hashBytes(f + r * F, F * sizeof(float));
    }
  }
}

void EnvChecker::walk() {
  // Iterative depth-first search from s0; a state reached again while on
  // the current path lies on a cycle.
  enum : uint8_t { kNew, kOpen, kDone };
  std::vector<uint8_t> mark(S_, kNew);
  std::vector<std::pair<int64_t, int64_t>> stack{{s0_, offsets_[s0_]}};
  mark[s0_] = kOpen;
  while (!stack.empty()) {
    auto &[node, cursor] = stack.back();
    if (cursor < offsets_[node + 1]) {
      int64_t c = children_[cursor++];
      if (mark[c] == kOpen && cycle_ < 0)
        cycle_ = c;
      if (mark[c] == kNew) {
        mark[c] = kOpen;
        stack.push_back({c, offsets_[c]});
      }
      continue;
    }
    mark[node] = kDone;
    stack.pop_back();
  }
  reached_.assign(S_, 0);
  for (int64_t i = 0; i < S_; ++i)
    reached_[i] = mark[i] != kNew;
}

void EnvChecker::backwardPass() {
  parentAction_.assign(S_, -1);
  parent_.assign(S_, -1);
  parentKind_.assign(S_, 0);
  for (int64_t lo = 0; lo < S_; lo += chunk_) {
    int64_t hi = std::min(S_, lo + chunk_), C = hi - lo;
    bool any = false;
    for (int64_t i = lo; i < hi && !any; ++i)
      any = reached_[i];
    if (!any)
      continue;
    State states = decode(lo, hi);
    torch::Tensor mask = p_.backwardMask(states).cpu();
    auto maskA = mask.accessor<bool, 2>();
    for (int64_t b = 0; b < M_; ++b) {
      torch::Tensor idx =
          p_.stateIndex(p_.backwardStep(states, actions(C, b))).cpu();
      auto idxA = idx.accessor<int64_t, 1>();
      for (int64_t r = 0; r < C; ++r) {
        int64_t code = lo + r;
        if (!reached_[code] || !maskA[r][b] || parentAction_[code] >= 0)
          continue;
        int64_t parent = idxA[r];
        uint8_t kind = 0; // 1 outside, 2 unreachable, 3 no forward action
        if (parent < 0 || parent >= S_)
          kind = 1;
        else if (!reached_[parent])
          kind = 2;
        else {
          bool forward = false;
          for (int64_t e = offsets_[parent]; e < offsets_[parent + 1]; ++e)
            forward |= childAction_[e] == b && children_[e] == code;
          if (!forward)
            kind = 3;
        }
        if (kind) {
          parentAction_[code] = static_cast<int32_t>(b);
          parent_[code] = parent;
          parentKind_[code] = kind;
        }
      }
    }
  }
}

void EnvChecker::report(EnvCheckReport &r) {
  // Actions leaving the domains.
  auto [leaving, leavingAt] =
      firstReachable([&](int64_t i) { return leaving_[i] >= 0; });
  if (leaving)
    add(r, "leaves-domain", leaving,
        "action " + action(leaving_[leavingAt]) + " from state " +
            describe(leavingAt) + " leads outside the state's domain");
  if (cycle_ >= 0)
    add(r, "cycle", 1,
        "state " + describe(cycle_) + " can be reached again from itself");
  auto [dead, deadAt] = firstReachable([&](int64_t i) { return deadEnd_[i]; });
  add(r, "dead-end", dead,
      dead ? "state " + describe(deadAt) +
                 " is not terminal and allows no action"
           : "");
  // Forward/backward consistency, from both ends.
  auto [undo, undoAt] = firstReachable(
      [&](int64_t i) { return undo_[i] != kUndoOk || parentKind_[i] == 3; });
  if (undo) {
    std::string example;
    if (undo_[undoAt] != kUndoOk) {
      int32_t a = undoAction_[undoAt];
      State s = one(undoAt);
      State next = p_.step(s, actions(1, a)).first;
      example = "action " + action(a) + " takes state " + describe(undoAt) +
                " to " + p_.describe(next, 0);
      if (undo_[undoAt] == kUndoMasked)
        example += ", where the backward mask does not allow undoing it";
      else
        example += ", and undoing it gives " +
                   p_.describe(p_.backwardStep(next, actions(1, a)), 0);
    } else {
      int32_t b = parentAction_[undoAt];
      example = "state " + describe(undoAt) + " allows undoing " + action(b) +
                " to its parent " + describe(parent_[undoAt]) +
                ", where the forward mask does not allow " + action(b) +
                " or it leads elsewhere";
    }
    add(r, "undo-mismatch", undo, example);
  }
  auto [orphan, orphanAt] = firstReachable(
      [&](int64_t i) { return parentKind_[i] == 1 || parentKind_[i] == 2; });
  if (orphan) {
    int32_t b = parentAction_[orphanAt];
    State s = one(orphanAt);
    add(r, "unreachable-parent", orphan,
        "state " + describe(orphanAt) + " allows undoing " + action(b) +
            " to " + p_.describe(p_.backwardStep(s, actions(1, b)), 0) +
            (parentKind_[orphanAt] == 1 ? ", which lies outside the domains"
                                        : ", which is not reachable from s0") +
            "; P_B puts mass on trajectories that never start at s0");
  }
  auto [bad, badAt] = firstReachable(
      [&](int64_t i) { return canEnd_[i] && reward_[i] != kRewardOk; });
  if (bad) {
    const char *what = reward_[badAt] == kRewardNaN ? "NaN"
                       : reward_[badAt] == kRewardPosInf
                           ? "+inf"
                           : "-inf (its reward is 0)";
    add(r, "bad-reward", bad,
        "terminal state " + describe(badAt) + " has log-reward " + what);
  }
  auto [nanFeat, nanFeatAt] =
      firstReachable([&](int64_t i) { return badFeatures_[i]; });
  add(r, "bad-features", nanFeat,
      nanFeat
          ? "the features of state " + describe(nanFeatAt) + " are not finite"
          : "");
  // Two states with the same features: the policy cannot tell them apart.
  std::unordered_map<uint64_t, int64_t> byHash;
  int64_t collisions = 0;
  std::pair<int64_t, int64_t> example{-1, -1};
  for (int64_t i = 0; i < S_; ++i) {
    if (!reached_[i] || badFeatures_[i])
      continue;
    auto [it, fresh] = byHash.emplace(featureHash_[i], i);
    if (fresh)
      continue;
    if (!(p_.features(one(it->second)) + 0.0f)
             .equal(p_.features(one(i)) + 0.0f))
      continue; // the hashes collide, not the features
    if (example.first < 0)
      example = {it->second, i};
    ++collisions;
  }
  if (collisions)
    add(r, "feature-collision", collisions,
        "states " + describe(example.first) + " and " +
            describe(example.second) + " have the same features");
}

EnvCheckReport EnvChecker::run() {
  EnvCheckReport r;
  r.states = S_;
  if (!env_.enumerable || S_ <= 0) {
    r.skipped = "the environment is not enumerable";
    return r;
  }
  if (S_ > kMaxCheckedStates) {
    r.skipped = "the environment has " + std::to_string(S_) +
                " states, more than the 2^22 the check enumerates";
    return r;
  }
  torch::NoGradGuard noGrad;
  s0_ = p_.stateIndex(p_.init(1)).cpu().item<int64_t>();
  if (s0_ < 0 || s0_ >= S_) {
    r.findings.push_back({"leaves-domain", 1,
                          "s0 " + p_.describe(p_.init(1), 0) +
                              " lies outside the state's domain"});
    return r;
  }
  forwardPass();
  walk();
  backwardPass();
  for (int64_t i = 0; i < S_; ++i) {
    r.reachable += reached_[i];
    r.terminals += reached_[i] && canEnd_[i];
  }
  report(r);
  return r;
}

} // namespace

EnvCheckReport checkEnvironment(const Program &program, int64_t chunk) {
  return EnvChecker(program, chunk).run();
}

} // namespace gfl
