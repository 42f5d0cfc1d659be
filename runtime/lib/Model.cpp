//===- Model.cpp - The networks of a manifest, in LibTorch ----------------===//

#include "gfl/Runtime/Model.h"

#include <algorithm>
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
  explicit Activation(std::string a) : act(std::move(a)) {}
  torch::Tensor forward(torch::Tensor x) { return activate(act, x); }
  std::string act;
};

} // namespace

ModelImpl::ModelImpl(const std::vector<NetSpec> &nets) : nets_(nets) {
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

std::map<std::string, torch::Tensor>
ModelImpl::forward(const torch::Tensor &features, const std::string &only) {
  std::set<std::string> needed;
  for (std::string n = only; !n.empty() && n != "features";) {
    needed.insert(n);
    auto it = std::find_if(nets_.begin(), nets_.end(),
                           [&](const NetSpec &s) { return s.name == n; });
    n = it == nets_.end() ? "" : it->input;
  }
  std::map<std::string, torch::Tensor> out;
  // Manifest order: a trunk comes before the networks that read it.
  for (const NetSpec &n : nets_) {
    if (n.kind != "mlp" || (!only.empty() && !needed.count(n.name)))
      continue;
    torch::Tensor in = features;
    if (n.input != "features") {
      const NetSpec *trunk = nullptr;
      for (const NetSpec &t : nets_)
        if (t.name == n.input)
          trunk = &t;
      in = activate(trunk->activation, out.at(n.input));
    }
    torch::Tensor y = mlps_.at(n.name)->forward(in);
    out[n.name] = n.outputSize == 1 && n.output != "actions" &&
                          n.output != "backward_actions"
                      ? y.squeeze(-1)
                      : y;
  }
  return out;
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
