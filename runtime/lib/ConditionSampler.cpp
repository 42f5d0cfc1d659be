//===- ConditionSampler.cpp - Per-trajectory conditions -------------------===//

#include "gfl/Runtime/ConditionSampler.h"
#include "gfl/Runtime/ForwardSampler.h"
#include "gfl/Runtime/Metrics.h"

#include <cmath>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace gfl {

torch::Tensor ConditionSampler::draw(int64_t batch,
                                     const torch::Tensor &iteration,
                                     int64_t first) const {
  if (!active())
    return torch::Tensor();
  auto cond = torch::empty({batch, program_.env().conditionSize},
                           program_.options(torch::kFloat32));
  program_.call("gfl_draw_condition",
                {{"iteration", iteration}, {"cond", cond}},
                {{"seed", double(program_.train().seed)},
                 {"stream", double(stream::kCondition)},
                 {"first", double(first)}});
  return cond;
}

namespace {

std::vector<double> parseValues(const std::string &name,
                                const std::string &text) {
  std::vector<double> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    char *end = nullptr;
    double v = std::strtod(item.c_str(), &end);
    if (item.empty() || *end || !std::isfinite(v))
      throw std::runtime_error("--cond " + name + ": '" + text +
                               "' is not a list of numbers");
    out.push_back(v);
  }
  return out;
}

/// Why `v` is outside the support of condition `c`, or "".
std::string outsideSupport(const ConditionSpec &c,
                           const std::vector<double> &v) {
  if (c.distribution == "dirichlet") {
    double sum = 0;
    for (double x : v) {
      if (x < 0)
        return "preferences must not be negative";
      sum += x;
    }
    if (std::fabs(sum - 1) > 1e-4)
      return "preferences must sum to 1";
    return "";
  }
  if (c.distribution == "loguniform" && !(v[0] > 0))
    return "must be positive";
  return "";
}

} // namespace

torch::Tensor ConditionSampler::parse(
    const Program &program,
    const std::vector<std::pair<std::string, std::string>> &settings) {
  const EnvSpec &env = program.env();
  if (env.conditions.empty()) {
    if (!settings.empty())
      throw std::runtime_error("--cond: the environment declares no "
                               "conditions");
    return torch::Tensor();
  }
  std::vector<double> row;
  for (const ConditionSpec &c : env.conditions)
    row.insert(row.end(), c.value.begin(), c.value.end());
  for (const auto &[name, text] : settings) {
    const ConditionSpec *c = nullptr;
    for (const ConditionSpec &x : env.conditions)
      if (x.name == name)
        c = &x;
    if (!c) {
      std::string names;
      for (const ConditionSpec &x : env.conditions)
        names += (names.empty() ? "" : ", ") + x.name;
      throw std::runtime_error("--cond: unknown condition '" + name +
                               "' (the environment declares " + names + ")");
    }
    std::vector<double> v = parseValues(name, text);
    if (static_cast<int64_t>(v.size()) != c->size)
      throw std::runtime_error("--cond " + name + ": expected " +
                               std::to_string(c->size) + " value(s), got " +
                               std::to_string(v.size()));
    if (std::string why = outsideSupport(*c, v); !why.empty())
      throw std::runtime_error("--cond " + name + "=" + text + ": " + why);
    std::copy(v.begin(), v.end(), row.begin() + c->offset);
  }
  std::vector<float> f(row.begin(), row.end());
  return torch::tensor(f, torch::kFloat32).to(program.options(torch::kFloat32));
}

std::string ConditionSampler::json(const Program &program,
                                   const torch::Tensor &row) {
  const EnvSpec &env = program.env();
  if (env.conditions.empty() || !row.defined())
    return "";
  torch::Tensor r = row.reshape({-1}).cpu().to(torch::kFloat64);
  std::ostringstream os;
  os << "{";
  for (size_t i = 0; i < env.conditions.size(); ++i) {
    const ConditionSpec &c = env.conditions[i];
    os << (i ? "," : "") << "\"" << c.name << "\":";
    if (c.size > 1)
      os << "[";
    for (int64_t k = 0; k < c.size; ++k)
      os << (k ? "," : "") << jsonNumber(r[c.offset + k].item<double>());
    if (c.size > 1)
      os << "]";
  }
  os << "}";
  return os.str();
}

} // namespace gfl
