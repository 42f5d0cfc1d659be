//===- Model.cpp - The networks of a manifest, in LibTorch ----------------===//

#include "gfl/Runtime/Model.h"

#include "HostRows.h"
#include "SplitLinear.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <stdexcept>

namespace gfl {

namespace {

torch::Tensor activate(const std::string &act, const torch::Tensor &x) {
  if (act == "relu")
    return torch::relu(x);
  if (act == "tanh")
    return torch::tanh(x);
  if (act == "leaky_relu")
    return torch::leaky_relu(x, 0.01);
  if (act == "gelu")
    return torch::gelu(x);
  if (act == "elu")
    return torch::elu(x);
  if (act == "silu")
    return torch::silu(x);
  throw std::runtime_error("unknown activation '" + act + "'");
}

struct Activation : torch::nn::Module {
  explicit Activation(std::string a)
      : act(std::move(a)), fusable(fusableActivation(act)) {}
  torch::Tensor forward(torch::Tensor x) { return activate(act, x); }
  std::string act;
  /// Where a recorded forward applies it with the layer before it.
  std::optional<LayerActivation> fusable;
};

/// Logit-GFN clips the scaled logits to keep the softmax finite.
constexpr double kScaledLogitBound = 50.0;

/// A linear layer and the activation after it whose output was computed
/// without a graph (a recorded forward, or the team's split products): that
/// output, with the layer's gradients (d z = d y act'(z) from the output y,
/// then d x = d z W, d W = d z^T x, d b = sum d z).
struct ReplayedLinear : torch::autograd::Function<ReplayedLinear> {
  static torch::Tensor forward(torch::autograd::AutogradContext *ctx,
                               torch::Tensor x, torch::Tensor weight,
                               torch::Tensor bias, const torch::Tensor *output,
                               LayerActivation act) {
    ctx->save_for_backward({x, weight});
    ctx->saved_data["output"] = *output;
    ctx->saved_data["activation"] = static_cast<int64_t>(act);
    return output->detach();
  }

  static torch::autograd::variable_list
  backward(torch::autograd::AutogradContext *ctx,
           torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto act =
        static_cast<LayerActivation>(ctx->saved_data["activation"].toInt());
    torch::Tensor dz =
        activationBackward(grads[0], ctx->saved_data["output"].toTensor(), act);
    torch::Tensor dx, dw, db;
    linearBackward(dz, saved[0], saved[1], ctx->needs_input_grad(0), dx, dw,
                   db);
    return {dx, dw, db, torch::Tensor(), torch::Tensor()};
  }
};

/// A linear layer and the activation after it, its products split between
/// the team's threads (splitsLinear), with the gradients of ReplayedLinear.
torch::Tensor splitLinear(const torch::Tensor &x, const torch::Tensor &weight,
                          const torch::Tensor &bias, LayerActivation act) {
  torch::Tensor out = torch::empty({x.size(0), weight.size(0)},
                                   x.options().requires_grad(false));
  linearForwardInto(out, x, weight, bias, act);
  bool graph = torch::GradMode::is_enabled() &&
               (x.requires_grad() || weight.requires_grad() ||
                (bias.defined() && bias.requires_grad()));
  return graph ? ReplayedLinear::apply(x, weight, bias, &out, act) : out;
}

} // namespace

torch::Tensor LinearTape::record(const torch::Tensor &x,
                                 const torch::Tensor &weight,
                                 const torch::Tensor &bias,
                                 LayerActivation act) {
  int64_t m = x.size(0), width = weight.size(0);
  size_t layer = next;
  if (next == outputs.size()) {
    outputs.push_back(
        torch::empty({std::max(reserve, rows + m), width}, x.options()));
    activations.push_back(act);
  }
  torch::Tensor &buffer = outputs[next++];
  if (rows + m > buffer.size(0)) {
    torch::Tensor grown = torch::empty({2 * (rows + m), width}, x.options());
    grown.narrow(0, 0, rows).copy_(buffer.narrow(0, 0, rows));
    buffer = grown;
  }
  torch::Tensor out = rowsOf(buffer, rows, m);
  if (FewRowLinear::applies(x, weight, out)) {
    if (packed.size() <= layer)
      packed.resize(layer + 1);
    if (!packed[layer])
      packed[layer] = std::make_shared<const FewRowLinear>(weight, bias);
    packed[layer]->run(x, out, act);
    return out;
  }
  linearForwardInto(out, x, weight, bias, act);
  return out;
}

torch::Tensor LinearTape::replay(const torch::Tensor &x,
                                 const torch::Tensor &weight,
                                 const torch::Tensor &bias,
                                 LayerActivation act) {
  if (next >= outputs.size() || outputs[next].size(0) != x.size(0) ||
      activations[next] != act)
    throw std::logic_error("a replayed forward differs from the one its "
                           "tape recorded");
  return ReplayedLinear::apply(x, weight, bias, &outputs[next++], act);
}

void LinearTape::endForward(int64_t m) {
  rows += m;
  next = 0;
}

void LinearTape::trim() {
  for (torch::Tensor &o : outputs)
    o = o.narrow(0, 0, rows);
  packed.clear();
}

ModelImpl::ModelImpl(const Program &program)
    : nets_(program.nets()), numActions_(program.env().numActions),
      numBackwardActions_(program.env().numBackwardActions) {
  for (const ConditionSpec &c : program.env().conditions)
    conditions_[c.name] = c;
  for (const NetSpec &n : nets_) {
    if (n.kind == "scalar") {
      scalars_[n.name] = register_parameter(
          n.name, torch::full({1}, n.init, torch::kFloat32));
    } else if (n.kind == "mlp") {
      torch::nn::Sequential seq;
      int64_t in = n.inputSize;
      for (int64_t h : n.hidden) {
        seq->push_back(torch::nn::Linear(in, h));
        seq->push_back(std::make_shared<Activation>(n.activation));
        in = h;
      }
      seq->push_back(torch::nn::Linear(in, n.outputSize));
      mlps_[n.name] = register_module(n.name, seq);
    }
  }
}

const NetSpec *ModelImpl::spec(const std::string &name) const {
  for (const NetSpec &n : nets_)
    if (n.name == name)
      return &n;
  return nullptr;
}

torch::Tensor
ModelImpl::inputOf(const NetSpec &n, const torch::Tensor &features,
                   const torch::Tensor &cond,
                   const std::map<std::string, torch::Tensor> &out) const {
  std::vector<torch::Tensor> parts;
  for (const std::string &source : n.inputs) {
    if (source == "features") {
      parts.push_back(features);
    } else if (auto c = conditions_.find(source); c != conditions_.end()) {
      if (!cond.defined())
        throw std::runtime_error("network '" + n.name + "' reads condition '" +
                                 source + "', but none was given");
      parts.push_back(
          cond.slice(1, c->second.offset, c->second.offset + c->second.size));
    } else {
      // A trunk: its output through its activation.
      parts.push_back(activate(spec(source)->activation, out.at(source)));
    }
  }
  return parts.size() == 1 ? parts.front() : torch::cat(parts, 1);
}

torch::Tensor ModelImpl::runMlp(const std::string &name, torch::Tensor x,
                                LinearTape *tape) {
  torch::nn::Sequential &seq = mlps_.at(name);
  if (!tape && !splitsLinear(x))
    return seq->forward(x);
  for (auto layer = seq->begin(); layer != seq->end(); ++layer) {
    auto *linear = layer->ptr()->as<torch::nn::LinearImpl>();
    if (!linear) {
      x = layer->forward(x);
      continue;
    }
    // The activation after the layer, where its derivative follows from
    // its output, goes with the layer: one pass over the output, recorded
    // activated.
    LayerActivation act = LayerActivation::None;
    if (auto after = std::next(layer); after != seq->end())
      if (auto *a = after->ptr()->as<Activation>(); a && a->fusable) {
        act = *a->fusable;
        layer = after;
      }
    x = !tape ? splitLinear(x, linear->weight, linear->bias, act)
        : tape->mode == LinearTape::Mode::Record
            ? tape->record(x, linear->weight, linear->bias, act)
            : tape->replay(x, linear->weight, linear->bias, act);
  }
  return x;
}

std::map<std::string, torch::Tensor>
ModelImpl::forward(const torch::Tensor &features, const torch::Tensor &cond,
                   const std::set<std::string> &only, LinearTape *tape) {
  std::set<std::string> needed;
  std::vector<std::string> pending(only.begin(), only.end());
  if (only.count("pf") && mlps_.count("logit_scale"))
    pending.push_back("logit_scale");
  while (!pending.empty()) {
    std::string n = pending.back();
    pending.pop_back();
    if (!needed.insert(n).second)
      continue;
    if (const NetSpec *s = spec(n))
      for (const std::string &source : s->inputs)
        if (mlps_.count(source))
          pending.push_back(source);
  }
  std::map<std::string, torch::Tensor> out;
  // Manifest order: a trunk comes before the networks that read it.
  for (const NetSpec &n : nets_) {
    if (n.kind != "mlp" || (!only.empty() && !needed.count(n.name)))
      continue;
    torch::Tensor y = runMlp(n.name, inputOf(n, features, cond, out), tape);
    out[n.name] = n.outputSize == 1 && n.output != "actions" &&
                          n.output != "backward_actions"
                      ? y.squeeze(-1)
                      : y;
  }
  if (tape && tape->mode == LinearTape::Mode::Record)
    tape->endForward(features.size(0));
  // The scale is softplus(g) / log 2: positive (a negative one would turn
  // the policy around) and 1 where g is 0, so that a freshly initialized g
  // leaves the policy as it is.
  auto scale = out.find("logit_scale");
  auto pf = out.find("pf");
  if (scale != out.end() && pf != out.end())
    pf->second =
        (pf->second *
         (torch::softplus(scale->second) / std::log(2.0)).unsqueeze(-1))
            .clamp(-kScaledLogitBound, kScaledLogitBound);
  return out;
}

torch::Tensor
ModelImpl::logits(const std::map<std::string, torch::Tensor> &outs,
                  const std::string &name, int64_t rows,
                  const torch::TensorOptions &options) const {
  auto it = outs.find(name);
  if (it != outs.end())
    return it->second.contiguous();
  if (mlps_.count(name))
    throw std::logic_error("the logits of network '" + name +
                           "' were not computed");
  // A uniform policy, declared or left out (a model without `pb`).
  const NetSpec *s = spec(name);
  int64_t width = s              ? s->outputSize
                  : name == "pf" ? numActions_
                  : name == "pb" ? numBackwardActions_
                                 : 0;
  return torch::zeros({rows, width}, options.dtype(torch::kFloat32));
}

torch::Tensor ModelImpl::policyLogits(const torch::Tensor &features,
                                      const torch::Tensor &cond,
                                      LinearTape *tape) {
  auto outs = mlps_.count("pf") ? forward(features, cond, {"pf"}, tape)
                                : std::map<std::string, torch::Tensor>();
  return logits(outs, "pf", features.size(0), features.options());
}

torch::Tensor ModelImpl::backwardLogits(const torch::Tensor &features,
                                        const torch::Tensor &cond) {
  auto outs = mlps_.count("pb") ? forward(features, cond, {"pb"})
                                : std::map<std::string, torch::Tensor>();
  return logits(outs, "pb", features.size(0), features.options());
}

bool ModelImpl::hasLogZ() const {
  return scalars_.count("logZ") || mlps_.count("logZ");
}

torch::Tensor ModelImpl::logZ(int64_t batch, const torch::Tensor &cond,
                              const torch::TensorOptions &options) {
  if (auto it = scalars_.find("logZ"); it != scalars_.end())
    return it->second.expand({batch});
  if (!mlps_.count("logZ"))
    return torch::Tensor();
  // log Z reads conditions only; the features are not used.
  torch::Tensor none = torch::empty({batch, 0}, options.dtype(torch::kFloat32));
  return forward(none, cond, {"logZ"}).at("logZ");
}

torch::Tensor ModelImpl::scalar(const std::string &name) const {
  auto it = scalars_.find(name);
  return it == scalars_.end() ? torch::Tensor() : it->second;
}

std::vector<torch::Tensor>
ModelImpl::parametersOf(const std::string &name) const {
  if (auto it = scalars_.find(name); it != scalars_.end())
    return {it->second};
  if (auto it = mlps_.find(name); it != mlps_.end())
    return it->second->parameters();
  return {};
}

std::vector<std::pair<std::string, torch::Tensor>>
ModelImpl::namedParams() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto &item : named_parameters(/*recurse=*/true))
    out.emplace_back(item.key(), item.value());
  return out;
}

} // namespace gfl
