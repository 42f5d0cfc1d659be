//===- Artifact.cpp - Loading .gflx artifacts -----------------------------===//

#include "gfl/Runtime/Artifact.h"
#include "gfl/Runtime/ArtifactSeal.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace gfl {

ElementType elementTypeOf(const std::string &dtype) {
  return dtype == "int32"     ? ElementType::Int32
         : dtype == "int64"   ? ElementType::Int64
         : dtype == "float32" ? ElementType::Float32
         : dtype == "bool"    ? ElementType::Bool
                              : ElementType::Unknown;
}

namespace {

bool readKernel(const json::Value &entry, void *handle, Kernel &out,
                std::string &error) {
  const json::Value *name = entry.get("name");
  const json::Value *symbol = entry.get("symbol");
  const json::Value *args = entry.get("args");
  if (!name || !name->isString() || (symbol && !symbol->isString()) || !args ||
      !args->isArray()) {
    error = "malformed kernel entry in the manifest";
    return false;
  }
  out.name = name->asString();
  // No symbol: the artifact has this kernel for CUDA only.
  if (symbol) {
    dlerror();
    out.entry = reinterpret_cast<PackedKernel>(
        dlsym(handle, symbol->asString().c_str()));
    if (!out.entry) {
      error = "kernel symbol '" + symbol->asString() + "' is missing";
      return false;
    }
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
    arg.element = elementTypeOf(arg.dtype);
    if (const json::Value *shape = a.get("shape"))
      for (const json::Value &d : shape->asArray())
        arg.shape.push_back(d.asInt());
    if (const json::Value *o = a.get("output"))
      arg.output = o->isBool() && o->asBool();
    out.args.push_back(std::move(arg));
  }
  return true;
}

/// One binary of the `cuda` section: its architecture, symbol and size.
bool readImage(const json::Value *entry, void *handle, CudaImage &out,
               std::string &error) {
  if (!entry)
    return true;
  const json::Value *arch = entry->get("arch");
  const json::Value *symbol = entry->get("symbol");
  const json::Value *size = entry->get("size");
  if (!arch || !arch->isString() || !symbol || !symbol->isString() || !size ||
      !size->isNumber() || size->asInt() < 0) {
    error = "malformed cuda section in the manifest";
    return false;
  }
  out.arch = arch->asString();
  out.size = static_cast<size_t>(size->asInt());
  out.data =
      static_cast<const char *>(dlsym(handle, symbol->asString().c_str()));
  if (!out.data) {
    error = "CUDA binary symbol '" + symbol->asString() + "' is missing";
    return false;
  }
  return true;
}

} // namespace

void Kernel::operator()(std::vector<void *> &args) const {
  if (!entry)
    throw std::runtime_error("kernel '" + name +
                             "' has no CPU code in this artifact (compiled "
                             "with --target=cuda)");
  entry(args.data());
}

std::unique_ptr<Artifact> Artifact::open(const std::string &path,
                                         std::string &error) {
  std::unique_ptr<Artifact> a(new Artifact());
  a->path_ = path;
  // The seal is checked before anything maps the file: a truncated file
  // would make dlopen fault, and a FIFO would block.
  if (!checkArtifactSeal(path, error))
    return nullptr;
  // A name without a slash is a file here, not a library on the search path.
  std::string where = path.find('/') == std::string::npos ? "./" + path : path;
  a->handle_ = dlopen(where.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!a->handle_) {
    const char *why = dlerror();
    error =
        "cannot load artifact '" + path + "': " + (why ? why : "unknown error");
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
  if (const json::Value *cuda = a->manifest_.get("cuda")) {
    if (!cuda->isObject() ||
        !readImage(cuda->get("cubin"), a->handle_, a->cuda_.cubin, error) ||
        !readImage(cuda->get("ptx"), a->handle_, a->cuda_.ptx, error)) {
      error = "'" + path +
              "': " + (error.empty() ? "malformed cuda section" : error);
      return nullptr;
    }
    if (const json::Value *block = cuda->get("block_size"))
      if (block->isNumber() && block->asInt() > 0 && block->asInt() <= 1024)
        a->cuda_.blockSize = static_cast<int>(block->asInt());
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
