//===- CudaDriver.cpp - Artifact kernels on the GPU -----------------------===//

#include "gfl/Runtime/CudaDriver.h"
#include "gfl/Runtime/MemRef.h"

#include <dlfcn.h>
#include <stdexcept>

namespace gfl::cuda {

namespace {

// Device attributes of the driver API (cuda.h).
constexpr int kComputeCapabilityMajor = 75;
constexpr int kComputeCapabilityMinor = 76;

template <typename F> bool resolve(void *lib, const char *name, F &fn) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  return fn != nullptr;
}

Driver loadDriver(std::string &error) {
  Driver d{};
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    error = "no CUDA driver (libcuda.so.1 cannot be loaded)";
    return d;
  }
  bool ok = resolve(lib, "cuInit", d.init) &&
            resolve(lib, "cuDeviceGet", d.deviceGet) &&
            resolve(lib, "cuDeviceGetCount", d.deviceGetCount) &&
            resolve(lib, "cuDeviceGetAttribute", d.deviceGetAttribute) &&
            resolve(lib, "cuDevicePrimaryCtxRetain", d.primaryCtxRetain) &&
            resolve(lib, "cuCtxSetCurrent", d.ctxSetCurrent) &&
            resolve(lib, "cuCtxGetCurrent", d.ctxGetCurrent) &&
            resolve(lib, "cuCtxSynchronize", d.ctxSynchronize) &&
            resolve(lib, "cuModuleLoadData", d.moduleLoadData) &&
            resolve(lib, "cuModuleUnload", d.moduleUnload) &&
            resolve(lib, "cuModuleGetFunction", d.moduleGetFunction) &&
            resolve(lib, "cuLaunchKernel", d.launchKernel) &&
            resolve(lib, "cuMemAlloc_v2", d.memAlloc) &&
            resolve(lib, "cuMemFree_v2", d.memFree) &&
            resolve(lib, "cuMemcpyHtoD_v2", d.memcpyHtoD) &&
            resolve(lib, "cuMemcpyDtoH_v2", d.memcpyDtoH) &&
            resolve(lib, "cuGetErrorString", d.getErrorString) &&
            resolve(lib, "cuMemGetInfo_v2", d.memGetInfo);
  if (!ok) {
    error = "the CUDA driver lacks an entry point gfl needs";
    d.init = nullptr;
    return d;
  }
  int count = 0;
  if (d.init(0) != 0 || d.deviceGetCount(&count) != 0 || count == 0) {
    error = "no CUDA device";
    d.init = nullptr;
    return d;
  }
  Device dev;
  Context ctx;
  if (d.deviceGet(&dev, 0) != 0 || d.primaryCtxRetain(&ctx, dev) != 0 ||
      d.ctxSetCurrent(ctx) != 0) {
    error = "cannot make a context on CUDA device 0";
    d.init = nullptr;
  }
  d.primary = ctx;
  return d;
}

} // namespace

const Driver *Driver::get(std::string &error) {
  static std::string why;
  static Driver driver = loadDriver(why);
  if (!driver.init) {
    error = why;
    return nullptr;
  }
  driver.ensureContext();
  return &driver;
}

void Driver::ensureContext() const {
  // The current context is per thread.
  Context current = nullptr;
  if (ctxGetCurrent(&current) != 0 || current == nullptr)
    ctxSetCurrent(primary);
}

void Driver::check(Result r, const char *what) const {
  if (r == 0)
    return;
  const char *text = nullptr;
  getErrorString(r, &text);
  throw std::runtime_error(std::string("CUDA: ") + what + ": " +
                           (text ? text : "error " + std::to_string(r)));
}

int Driver::computeCapability() const {
  Device dev;
  int major = 0, minor = 0;
  check(deviceGet(&dev, 0), "cuDeviceGet");
  check(deviceGetAttribute(&major, kComputeCapabilityMajor, dev),
        "cuDeviceGetAttribute");
  check(deviceGetAttribute(&minor, kComputeCapabilityMinor, dev),
        "cuDeviceGetAttribute");
  return 10 * major + minor;
}

std::unique_ptr<Module> Module::load(const Artifact &artifact,
                                     std::string &error) {
  const CudaImages &images = artifact.cuda();
  if (!images.present()) {
    error = "the artifact has no CUDA kernels (compile it with "
            "gflc --target=all or --target=cuda)";
    return nullptr;
  }
  const Driver *driver = Driver::get(error);
  if (!driver)
    return nullptr;
  std::unique_ptr<Module> m(new Module());
  m->driver_ = driver;
  m->blockSize_ = images.blockSize;
  int cc = driver->computeCapability();
  bool cubin = images.cubin.arch == "sm_" + std::to_string(cc);
  const CudaImage &image = cubin ? images.cubin : images.ptx;
  m->image_ = (cubin ? "cubin " : "ptx ") + image.arch;
  if (Result r = driver->moduleLoadData(&m->module_, image.data)) {
    const char *text = nullptr;
    driver->getErrorString(r, &text);
    error = "cannot load the artifact's " + m->image_ +
            " on a device of "
            "compute capability " +
            std::to_string(cc) + ": " + (text ? text : "error");
    return nullptr;
  }
  return m;
}

Module::~Module() {
  if (module_)
    driver_->moduleUnload(module_);
}

void Module::launch(const Kernel &kernel, std::vector<void *> &args,
                    Stream stream) const {
  driver_->ensureContext();
  Function fn = nullptr;
  {
    std::lock_guard<std::mutex> lock(functionsLock_);
    auto [it, isNew] = functions_.try_emplace(kernel.name, nullptr);
    if (isNew) {
      Result r =
          driver_->moduleGetFunction(&it->second, module_, kernel.name.c_str());
      if (r != 0)
        functions_.erase(it);
      driver_->check(r, ("no GPU kernel " + kernel.name).c_str());
    }
    fn = it->second;
  }
  // Each descriptor field is one kernel parameter: allocated, aligned,
  // offset, then a size and a stride per dimension (8 bytes each).
  std::vector<void *> params;
  int64_t rows = -1;
  for (size_t i = 0; i < kernel.args.size(); ++i) {
    const KernelArg &a = kernel.args[i];
    if (!a.buffer) {
      params.push_back(args[i]);
      continue;
    }
    auto *desc = static_cast<AnyRankDescriptor *>(args[i]);
    size_t rank = a.shape.size();
    params.push_back(&desc->allocated);
    params.push_back(&desc->aligned);
    params.push_back(&desc->offset);
    for (size_t k = 0; k < 2 * rank; ++k)
      params.push_back(&desc->shapeAndStrides[k]);
    if (a.output && rows < 0)
      rows = rank > 0 ? desc->shapeAndStrides[0] : 1;
  }
  if (rows <= 0)
    return;
  auto grid = static_cast<unsigned>((rows + blockSize_ - 1) / blockSize_);
  driver_->check(driver_->launchKernel(fn, grid, 1, 1, blockSize_, 1, 1, 0,
                                       stream, params.data(), nullptr),
                 ("launching " + kernel.name).c_str());
}

} // namespace gfl::cuda
