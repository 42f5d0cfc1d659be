//===- Artifact.cpp - Loading .gflx artifacts -----------------------------===//

#include "gfl/Runtime/Artifact.h"

#include <dlfcn.h>

namespace gfl {

namespace {

bool readKernel(const json::Value &entry, void *handle, Kernel &out,
                std::string &error) {
  const json::Value *name = entry.get("name");
  const json::Value *symbol = entry.get("symbol");
  const json::Value *args = entry.get("args");
  if (!name || !name->isString() || !symbol || !symbol->isString() || !args ||
      !args->isArray()) {
    error = "malformed kernel entry in the manifest";
    return false;
  }
  out.name = name->asString();
  dlerror();
  out.entry = reinterpret_cast<PackedKernel>(
      dlsym(handle, symbol->asString().c_str()));
  if (!out.entry) {
    error = "kernel symbol '" + symbol->asString() + "' is missing";
    return false;
  }
  for (const json::Value &a : args->asArray()) {
    KernelArg arg;
    const json::Value *n = a.get("name");
    const json::Value *kind = a.get("kind");
    const json::Value *dtype = a.get("dtype");
    if (!n || !n->isString() || !kind || !kind->isString() || !dtype ||
        !dtype->isString()) {
      error = "malformed argument of kernel '" + out.name + "'";
      return false;
    }
    arg.name = n->asString();
    arg.buffer = kind->asString() == "buffer";
    arg.dtype = dtype->asString();
    if (const json::Value *shape = a.get("shape"))
      for (const json::Value &d : shape->asArray())
        arg.shape.push_back(d.asInt());
    if (const json::Value *o = a.get("output"))
      arg.output = o->isBool() && o->asBool();
    out.args.push_back(std::move(arg));
  }
  return true;
}

} // namespace

std::unique_ptr<Artifact> Artifact::open(const std::string &path,
                                         std::string &error) {
  std::unique_ptr<Artifact> a(new Artifact());
  a->path_ = path;
  a->handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!a->handle_) {
    const char *why = dlerror();
    error = "cannot load artifact '" + path + "': " +
            (why ? why : "unknown error");
    return nullptr;
  }
  auto *text = static_cast<const char *>(dlsym(a->handle_, "gfl_manifest"));
  if (!text) {
    error = "'" + path + "' is not a gfl artifact (no gfl_manifest)";
    return nullptr;
  }
  std::string jsonError;
  std::optional<json::Value> manifest = json::parse(text, jsonError);
  if (!manifest || !manifest->isObject()) {
    error = "'" + path + "' has a malformed manifest: " +
            (jsonError.empty() ? "not a JSON object" : jsonError);
    return nullptr;
  }
  a->manifest_ = std::move(*manifest);
  const json::Value *abi = a->manifest_.get("abi_version");
  if (!abi || !abi->isNumber() || abi->asInt() != kRuntimeAbiVersion) {
    error = "'" + path + "' was built for artifact ABI " +
            (abi && abi->isNumber() ? std::to_string(abi->asInt())
                                    : std::string("?")) +
            "; this runtime reads ABI " + std::to_string(kRuntimeAbiVersion);
    return nullptr;
  }
  const json::Value *kernels = a->manifest_.get("kernels");
  if (!kernels || !kernels->isArray()) {
    error = "'" + path + "' has no kernel table";
    return nullptr;
  }
  for (const json::Value &entry : kernels->asArray()) {
    Kernel k;
    if (!readKernel(entry, a->handle_, k, error)) {
      error = "'" + path + "': " + error;
      return nullptr;
    }
    a->kernels_[k.name] = std::move(k);
  }
  return a;
}

Artifact::~Artifact() {
  if (handle_)
    dlclose(handle_);
}

const Kernel *Artifact::kernel(const std::string &name) const {
  auto it = kernels_.find(name);
  return it == kernels_.end() ? nullptr : &it->second;
}

} // namespace gfl
