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
tools = ["gflc", "gfl-opt", "llvm-nm"]
# gfl-run needs LibTorch; its tests run where it was built.
if os.path.exists(os.path.join(config.gfl_tools_dir, "gfl-run")):
    tools.append("gfl-run")
    config.available_features.add("gfl-run")
llvm_config.add_tool_substitutions(tools, tool_dirs)
