# -*- Python -*- lit configuration for the gfl test suites.
import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "GFL"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".gfl", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.gfl_obj_root, "test")
# Inputs shared by several tests and the unit-test sources are not tests.
config.excludes = ["Inputs", "unit", "CMakeLists.txt", "lit.cfg.py",
                   "lit.site.cfg.py"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%gfl_src", config.gfl_src_root))
config.substitutions.append(("%examples", os.path.join(config.gfl_src_root, "examples")))

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.gfl_tools_dir, config.llvm_tools_dir]
tools = ["gflc", "gfl-opt", "llvm-nm", "llvm-readelf"]
# gfl-run needs LibTorch; its tests run where it was built.
if os.path.exists(os.path.join(config.gfl_tools_dir, "gfl-run")):
    tools.append("gfl-run")
    config.available_features.add("gfl-run")
    # Built against LibTorch with CUDA: gfl-run --device cuda can run.
    if config.gfl_torch_cuda:
        config.available_features.add("gfl-run-cuda")
    # Built with LibTorch's c10d (Gloo): data-parallel training.
    if config.gfl_distributed:
        config.available_features.add("gfl-distributed")
llvm_config.add_tool_substitutions(tools, tool_dirs)

# The CUDA toolkit (ptxas, libdevice) compiles and checks the GPU kernels.
cuda_path = os.environ.get("GFL_CUDA_PATH", "/usr/local/cuda")
if os.path.exists(os.path.join(cuda_path, "bin", "ptxas")) and os.path.exists(
        os.path.join(cuda_path, "nvvm", "libdevice", "libdevice.10.bc")):
    config.available_features.add("cuda-toolkit")
    config.substitutions.append(("%ptxas", os.path.join(cuda_path, "bin", "ptxas")))
    config.substitutions.append(("%cuda_path", cuda_path))

# cuobjdump (and nvdisasm for SASS) read the cubins: the toolkit's, or
# NVIDIA's wheels that scripts/setup.sh fetches into .tools/cuda/bin.
for d in (os.path.join(cuda_path, "bin"),
          os.path.join(config.gfl_src_root, ".tools", "cuda", "bin")):
    if os.path.exists(os.path.join(d, "cuobjdump")) and os.path.exists(
            os.path.join(d, "nvdisasm")):
        config.available_features.add("cuobjdump")
        llvm_config.with_environment("PATH", d, append_path=True)
        config.substitutions.append(("%cuobjdump", os.path.join(d, "cuobjdump")))
        break

# A GPU and its driver: tests that launch kernels (end-to-end ones also
# REQUIRE gfl-run-cuda).
if os.path.exists("/dev/nvidiactl") or os.path.exists("/proc/driver/nvidia/version"):
    config.available_features.add("cuda")

# Tools built with AddressSanitizer (scripts/sanitize.sh) reserve terabytes of
# address space: tests that run under `ulimit -v` cannot.
if os.environ.get("GFL_SANITIZED"):
    config.available_features.add("asan")
    for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if name in os.environ:
            config.environment[name] = os.environ[name]
