//===- Checkpoint.cpp - Training state in a file PyTorch can load ---------===//

#include "gfl/Runtime/Checkpoint.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace gfl {

namespace {
constexpr const char *kFormat = "gfl-checkpoint-1";

/// Why `t` cannot be read safely, or "" when it can: a dense CPU tensor
/// whose sizes, strides and offset stay inside its storage. A tampered
/// pickle can describe a tensor larger than the bytes it carries, and
/// copying from it would read out of bounds.
std::string unreadable(const torch::Tensor &t) {
  if (!t.defined())
    return "is undefined";
  if (t.layout() != torch::kStrided)
    return "is not a dense tensor";
  if (!t.device().is_cpu())
    return "is not stored on the CPU";
  if (t.numel() == 0)
    return "";
  if (!t.has_storage())
    return "has no storage";
  int64_t last = t.storage_offset();
  if (last < 0)
    return "has a negative storage offset";
  for (int64_t d = 0; d < t.dim(); ++d) {
    int64_t reach;
    if (t.stride(d) < 0 ||
        __builtin_mul_overflow(t.size(d) - 1, t.stride(d), &reach) ||
        __builtin_add_overflow(last, reach, &last))
      return "has strides that reach outside its storage";
  }
  int64_t bytes;
  if (__builtin_mul_overflow(last + 1, int64_t(t.element_size()), &bytes) ||
      bytes > static_cast<int64_t>(t.storage().nbytes()))
    return "needs " + std::to_string(last + 1) + " elements but its storage " +
           "holds " + std::to_string(t.storage().nbytes() / t.element_size());
  return "";
}
} // namespace

void writeAtomically(const std::string &path, const std::vector<char> &bytes) {
  std::string tmp = path + ".tmp";
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close(); // a full disk may show only here
  int error = errno;
  std::error_code renamed;
  if (out)
    std::filesystem::rename(tmp, path, renamed);
  if (!out || renamed) {
    // No partial file is left behind; `path` keeps its last good contents.
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw std::runtime_error(
        "cannot write '" + path +
        "': " + (renamed ? renamed.message() : std::strerror(error)));
  }
}

Checkpoint::Checkpoint(const Program &program)
    : dict_(c10::StringType::get(), c10::AnyType::get()) {
  dict_.insert("format", std::string(kFormat));
  dict_.insert("env", program.env().name);
}

Checkpoint Checkpoint::read(const std::string &path, const Program &program) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read checkpoint '" + path + "'");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());
  c10::IValue value;
  try {
    value = torch::pickle_load(bytes);
  } catch (const std::exception &) {
    throw std::runtime_error("'" + path + "' is not a gfl checkpoint");
  }
  if (!value.isGenericDict())
    throw std::runtime_error("'" + path + "' is not a gfl checkpoint");
  Checkpoint c(program);
  c.path_ = path;
  c.dict_ = value.toGenericDict();
  for (const char *key : {"format", "env"})
    if (!c.dict_.contains(key) || !c.dict_.at(key).isString())
      throw std::runtime_error("'" + path + "' is not a gfl checkpoint");
  if (c.dict_.at("format").toStringRef() != kFormat)
    throw std::runtime_error("'" + path + "' is not a gfl checkpoint");
  if (c.dict_.at("env").toStringRef() != program.env().name)
    throw std::runtime_error("checkpoint '" + path + "' is for environment '" +
                             c.dict_.at("env").toStringRef() + "', not '" +
                             program.env().name + "'");
  return c;
}

void Checkpoint::write(const std::string &path) const {
  writeAtomically(path, torch::pickle_save(c10::IValue(dict_)));
}

void Checkpoint::put(const std::string &key, c10::IValue value) {
  dict_.insert_or_assign(key, std::move(value));
}

bool Checkpoint::has(const std::string &key) const {
  return dict_.contains(key);
}

std::runtime_error Checkpoint::error(const std::string &what) const {
  return std::runtime_error("checkpoint '" + path_ + "': " + what);
}

c10::IValue Checkpoint::get(const std::string &key) const {
  if (!dict_.contains(key))
    throw std::runtime_error("'" + path_ + "' is not a gfl checkpoint (no " +
                             key + ")");
  return dict_.at(key);
}

c10::Dict<std::string, torch::Tensor>
Checkpoint::tensors(const std::string &key) const {
  c10::IValue v = get(key);
  if (!v.isGenericDict())
    throw error("'" + key + "' is not a dictionary of tensors");
  c10::Dict<std::string, torch::Tensor> out;
  for (const auto &item : v.toGenericDict()) {
    if (!item.key().isString() || !item.value().isTensor())
      throw error("'" + key + "' is not a dictionary of tensors");
    const torch::Tensor &t = item.value().toTensor();
    std::string why = unreadable(t);
    if (!why.empty())
      throw error(key + " entry " + item.key().toStringRef() + " " + why);
    out.insert(item.key().toStringRef(), t);
  }
  return out;
}

torch::Tensor Checkpoint::tensor(const std::string &key,
                                 const std::string &name,
                                 const torch::Tensor &like) const {
  auto dict = tensors(key);
  if (!dict.contains(name))
    throw error("it lacks " + key + " entry " + name);
  torch::Tensor v = dict.at(name);
  if (v.sizes() != like.sizes())
    throw error(key + " entry " + name + " has another shape");
  if (v.scalar_type() != like.scalar_type())
    throw error(key + " entry " + name + " has another dtype");
  return v;
}

} // namespace gfl
