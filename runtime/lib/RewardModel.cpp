//===- RewardModel.cpp - A reward given by a user's trained model ---------===//

#include "gfl/Runtime/RewardModel.h"
#include "gfl/Runtime/Sha256.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace gfl {

namespace {

/// The first line of an exception's text (LibTorch appends backtraces).
std::string firstLine(const std::string &text) {
  return text.substr(0, text.find('\n'));
}

std::string shapeOf(const torch::Tensor &t) {
  std::ostringstream os;
  os << t.sizes();
  return os.str();
}

} // namespace

RewardModel::RewardModel(const RewardModelSpec &spec,
                         const std::string &artifactPath)
    : spec_(spec) {
  namespace fs = std::filesystem;
  std::string prefix = named();
  std::error_code ec;
  fs::path beside = fs::path(artifactPath).parent_path() / spec.file;
  if (fs::is_regular_file(spec.path, ec))
    loaded_ = spec.path;
  else if (fs::is_regular_file(beside, ec))
    loaded_ = beside.string();
  else
    throw std::runtime_error(prefix + " is gone: neither '" + spec.path +
                             "' nor '" + beside.string() + "' exists");
  std::ifstream in(loaded_, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  std::string digest = Sha256::hex(Sha256::of(bytes.data(), bytes.size()));
  if (digest != spec.sha256)
    throw std::runtime_error(prefix + " at '" + loaded_ +
                             "' changed since gflc compiled the artifact "
                             "(SHA-256 " +
                             digest + ", compiled against " + spec.sha256 +
                             "); compile the model file again");
  try {
    std::istringstream stream(bytes);
    module_ = torch::jit::load(stream, torch::kCPU);
  } catch (const std::exception &e) {
    throw std::runtime_error(prefix +
                             " cannot be loaded as a TorchScript "
                             "module: " +
                             firstLine(e.what()));
  }
  module_.eval();
  // A probe: two inputs must give two values.
  call(torch::zeros({2, spec.inputs}, torch::kFloat32));
}

std::string RewardModel::named() const {
  return spec_.where + ": the reward model '" + spec_.file + "'";
}

void RewardModel::to(const torch::Device &device) { module_.to(device); }

torch::Tensor RewardModel::call(const torch::Tensor &inputs) {
  std::string prefix = named();
  int64_t batch = inputs.size(0);
  c10::IValue out;
  try {
    torch::NoGradGuard noGrad;
    out = module_.forward({inputs});
  } catch (const std::exception &e) {
    throw std::runtime_error(prefix + " failed on a batch of " +
                             std::to_string(batch) + " inputs of " +
                             std::to_string(spec_.inputs) +
                             " values: " + firstLine(e.what()));
  }
  if (!out.isTensor())
    throw std::runtime_error(prefix + " returned " + out.tagKind() +
                             ", not a tensor of one value per input");
  torch::Tensor t = out.toTensor();
  bool oneEach = t.numel() == batch &&
                 (t.dim() == 1 || (t.dim() == 2 && t.size(1) == 1)) &&
                 t.size(0) == batch;
  if (!oneEach)
    throw std::runtime_error(prefix + " returned shape " + shapeOf(t) +
                             " for " + std::to_string(batch) +
                             " inputs; it must return one value per input ([" +
                             std::to_string(batch) + "] or [" +
                             std::to_string(batch) + ", 1])");
  if (!t.is_floating_point())
    throw std::runtime_error(prefix + " returned " +
                             std::string(c10::toString(t.scalar_type())) +
                             " values, not floats");
  return t.reshape({batch}).to(torch::kFloat32);
}

torch::Tensor RewardModel::logReward(const torch::Tensor &inputs) {
  torch::Tensor r = call(inputs);
  return spec_.log ? r : r.log();
}

} // namespace gfl
