//===- gflc.cpp - The .gfl compiler driver --------------------------------===//
//
//   gflc model.gfl -o model.gflx     the artifact (kernels + manifest)
//   gflc model.gfl --emit=STAGE      one stage on stdout (or -o FILE):
//     ast       the checked syntax tree
//     mlir      the gfl dialect module (default without -o)
//     kernels   tensor-level batched kernels
//     lowered   bufferized kernels: loops over memrefs
//     llvm      optimized LLVM IR with the packed entries and manifest
//     asm       host assembly
//     manifest  the artifact's JSON manifest
//     ptx       the CUDA kernels as PTX (for --ptx-arch)
//     cubin     the CUDA kernels as a cubin (for --cubin-arch; needs -o)
//   --target=cpu|cuda|all  which kernels the artifact carries (default: all
//     when the CUDA toolkit is at --cuda-path, else cpu)
//
// Exit status: 0 on success, 1 when the input has errors (reported as
// file:line:col diagnostics on stderr), 2 for unusable options or files.
//
//===----------------------------------------------------------------------===//

#include "gfl/Compiler/Artifact.h"
#include "gfl/Compiler/CudaCodegen.h"
#include "gfl/Compiler/MLIRGen.h"
#include "gfl/Dialect/GflOps.h"
#include "gfl/Frontend/ASTDump.h"
#include "gfl/Frontend/Library.h"
#include "gfl/Frontend/Parser.h"
#include "gfl/Frontend/Sema.h"

#include "gfl/Pipeline/Pipeline.h"
#include "gfl/Runtime/Artifact.h"
#include "gfl/Runtime/StateGraph.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

#include <iostream>
#include <optional>
#include <sstream>

namespace cl = llvm::cl;

/// compiler/stdlib/objectives.gfl, embedded at build time.
#include "StandardLibrary.inc"

namespace {

enum class Emit {
  AST,
  MLIR,
  Kernels,
  Lowered,
  LLVM,
  Asm,
  Manifest,
  PTX,
  Cubin,
  Artifact
};

enum class Target { CPU, CUDA, All };

cl::OptionCategory gflcCategory("gflc options");

cl::opt<std::string> inputFilename(cl::Positional,
                                   cl::desc("<input .gfl file>"),
                                   cl::init("-"), cl::cat(gflcCategory));

cl::opt<std::string> outputFilename("o", cl::desc("Output file"),
                                    cl::value_desc("filename"), cl::init("-"),
                                    cl::cat(gflcCategory));

cl::opt<Emit> emitAction(
    "emit",
    cl::desc("What to produce (default: artifact with -o, else mlir)"),
    cl::values(
        clEnumValN(Emit::AST, "ast", "the checked syntax tree"),
        clEnumValN(Emit::MLIR, "mlir", "the gfl dialect module"),
        clEnumValN(Emit::Kernels, "kernels", "tensor-level batched kernels"),
        clEnumValN(Emit::Lowered, "lowered", "bufferized loops over memrefs"),
        clEnumValN(Emit::LLVM, "llvm", "optimized LLVM IR"),
        clEnumValN(Emit::Asm, "asm", "host assembly"),
        clEnumValN(Emit::Manifest, "manifest", "the JSON manifest"),
        clEnumValN(Emit::PTX, "ptx", "the CUDA kernels as PTX"),
        clEnumValN(Emit::Cubin, "cubin", "the CUDA kernels as a cubin"),
        clEnumValN(Emit::Artifact, "artifact", "the .gflx shared object")),
    cl::cat(gflcCategory));

cl::list<std::string> setValues(
    "set", cl::desc("Override a param or train.SETTING at compile time"),
    cl::value_desc("NAME=VALUE"), cl::cat(gflcCategory));

cl::opt<std::string> targetCpu(
    "mcpu", cl::desc("CPU to generate code for ('native' for this host)"),
    cl::init("x86-64-v2"), cl::cat(gflcCategory));

cl::opt<Target> target(
    "target",
    cl::desc("Kernels to compile (default: all where the CUDA toolkit is "
             "present, else cpu)"),
    cl::values(clEnumValN(Target::CPU, "cpu", "native CPU code"),
               clEnumValN(Target::CUDA, "cuda", "CUDA kernels only"),
               clEnumValN(Target::All, "all", "CPU and CUDA")),
    cl::cat(gflcCategory));

cl::opt<std::string> cudaPath("cuda-path",
                              cl::desc("CUDA toolkit (ptxas, libdevice)"),
                              cl::init("/usr/local/cuda"),
                              cl::cat(gflcCategory));

cl::opt<std::string> cubinArch("cubin-arch",
                               cl::desc("GPU architecture of the cubin"),
                               cl::init("sm_90"), cl::cat(gflcCategory));

cl::opt<std::string> ptxArch("ptx-arch",
                             cl::desc("GPU architecture of the PTX"),
                             cl::init("sm_75"), cl::cat(gflcCategory));

cl::opt<unsigned> optLevel("O", cl::desc("LLVM optimization level (0-3)"),
                           cl::Prefix, cl::init(3), cl::cat(gflcCategory));

Emit effectiveEmit() {
  if (emitAction.getNumOccurrences())
    return emitAction;
  return outputFilename == "-" ? Emit::MLIR : Emit::Artifact;
}

/// Whether to compile CUDA kernels: an explicit --target, or all when the
/// toolkit is present.
bool wantsCuda() {
  if (target.getNumOccurrences())
    return target != Target::CPU;
  std::string why;
  return gfl::cudaToolkitUsable(cudaPath, why);
}

gfl::CudaOptions cudaOptions() {
  gfl::CudaOptions o;
  o.toolkit = cudaPath;
  o.cubinArch = cubinArch;
  o.ptxArch = ptxArch;
  return o;
}

/// Runs the shared pipeline from `from` to `to` on `module`.
bool runPipeline(mlir::ModuleOp module, bool fromDialect,
                 mlir::gfl::PipelineStage from, mlir::gfl::PipelineStage to) {
  mlir::PassManager pm(module->getContext());
  if (fromDialect)
    mlir::gfl::buildGflPipeline(pm, to);
  else
    mlir::gfl::buildGflPipelineRange(pm, from, to);
  return mlir::succeeded(pm.run(module));
}

/// Everything after MLIRGen: the pipeline stages, LLVM IR, machine code.
bool lower(mlir::ModuleOp module, const gfl::CheckedProgram &checked,
           const std::string &name, Emit emit, llvm::raw_ostream &out) {
  using mlir::gfl::PipelineStage;
  if (!runPipeline(module, true, PipelineStage::Kernels, PipelineStage::Kernels))
    return false;
  if (emit == Emit::Kernels) {
    module->print(out);
    return true;
  }
  // The CUDA kernels start from the same tensor-level kernels.
  std::optional<gfl::CudaBinaries> cuda;
  bool cudaOnly = target.getNumOccurrences() && target == Target::CUDA;
  if (emit == Emit::PTX || emit == Emit::Cubin ||
      (wantsCuda() && (emit == Emit::Manifest || emit == Emit::LLVM ||
                       emit == Emit::Artifact))) {
    cuda.emplace();
    if (!gfl::compileCuda(module, cudaOptions(), *cuda)) {
      // The default target falls back to the CPU kernels where the CUDA
      // kernels cannot be built; an explicit target is an error.
      bool fallBack =
          !target.getNumOccurrences() &&
          (!cuda->tooManyParameters.empty() || !cuda->error.empty()) &&
          emit != Emit::PTX && emit != Emit::Cubin;
      if (!fallBack) {
        if (!cuda->tooManyParameters.empty())
          llvm::errs() << "gflc: error: " << cuda->tooManyParameters
                       << " (too many state fields for one CUDA kernel; "
                          "--target=cpu builds the CPU kernels only)\n";
        else if (!cuda->error.empty())
          llvm::errs() << "gflc: error: CUDA code generation failed: "
                       << cuda->error << "\n";
        return false;
      }
      std::string why = cuda->tooManyParameters.empty()
                            ? "CUDA code generation failed: " + cuda->error
                            : cuda->tooManyParameters;
      llvm::errs() << "gflc: warning: no CUDA kernels: " << why
                   << "\n(the artifact carries the CPU kernels only; "
                      "--target=cpu builds them without trying CUDA)\n";
      cuda.reset();
    }
    if (emit == Emit::PTX || emit == Emit::Cubin) {
      out << (emit == Emit::PTX ? cuda->ptx : cuda->cubin);
      return true;
    }
  }
  if (!runPipeline(module, false, PipelineStage::Kernels,
                   PipelineStage::Lowered))
    return false;
  if (emit == Emit::Lowered) {
    module->print(out);
    return true;
  }
  llvm::json::Array kernels = gfl::kernelTable(module);
  if (cudaOnly) // no CPU entry points
    for (llvm::json::Value &k : kernels)
      k.getAsObject()->erase("symbol");
  llvm::json::Object manifest =
      gfl::buildManifest(checked, module, std::move(kernels), name);
  if (cuda)
    manifest["cuda"] = gfl::cudaManifest(*cuda, cudaOptions());
  std::string manifestText;
  llvm::raw_string_ostream(manifestText) << llvm::json::Value(std::move(manifest));
  if (emit == Emit::Manifest) {
    out << manifestText << "\n";
    return true;
  }
  if (!runPipeline(module, false, PipelineStage::Lowered, PipelineStage::LLVM))
    return false;
  gfl::CodegenOptions options;
  options.cpu = targetCpu;
  options.optLevel = optLevel;
  if (cuda) {
    options.blobs.push_back({gfl::kCubinSymbol, cuda->cubin});
    options.blobs.push_back({gfl::kPtxSymbol, cuda->ptx});
  }
  if (cudaOnly) // the manifest and the binaries, no CPU kernels
    for (auto func : llvm::make_early_inc_range(
             module.getOps<mlir::LLVM::LLVMFuncOp>()))
      func.erase();
  std::string error;
  llvm::LLVMContext llvmContext;
  auto llvmModule =
      gfl::translateToLLVMIR(module, llvmContext, manifestText, options, error);
  if (!llvmModule) {
    llvm::errs() << name << ": error: " << error << "\n";
    return false;
  }
  if (emit == Emit::LLVM) {
    llvmModule->print(out, nullptr);
    return true;
  }
  if (emit == Emit::Asm) {
    llvm::SmallString<0> buffer;
    llvm::raw_svector_ostream os(buffer);
    if (!gfl::emitMachineCode(*llvmModule, os, false, options, error)) {
      llvm::errs() << name << ": error: " << error << "\n";
      return false;
    }
    out << buffer;
    return true;
  }
  if (!gfl::writeArtifact(*llvmModule, outputFilename, options, error)) {
    llvm::errs() << "gflc: error: " << error << "\n";
    return false;
  }
  return true;
}

/// Refuses an env without actions, then walks the state graph of the
/// artifact just written (enumerable envs with CPU kernels, up to
/// kMaxWalkedStates states) and reports what makes
/// it unfit for a GFlowNet at the declaration that causes it: an allowed
/// action leading outside the fields' domains, a cycle, a local-search
/// backtrack longer than any trajectory. Returns false on an error.
bool checkAgainstStateGraph(const gfl::CheckedProgram &checked,
                            gfl::DiagnosticEngine &diags) {
  if (!checked.env || !checked.env->decl)
    return true;
  const gfl::EnvInfo &env = *checked.env;
  auto fail = [&](gfl::SourceRange at, const std::string &message) {
    llvm::errs() << diags.format({gfl::Severity::Error, at, message});
    return false;
  };
  // Checked for artifacts only: the frontend's error tests use envs without
  // actions to show other errors.
  if (env.actions.empty())
    return fail(env.decl->name.range,
                "environment '" + env.name +
                    "' declares no action: every trajectory would end at s0");
  std::string error;
  std::unique_ptr<gfl::Artifact> artifact =
      gfl::Artifact::open(outputFilename, error);
  std::optional<gfl::StateGraphReport> report =
      artifact ? gfl::walkStateGraph(*artifact, error) : std::nullopt;
  if (!report)
    return true; // not walkable here; gfl-run checks what it can
  if (report->leavingAction >= 0) {
    int64_t offset = 0;
    for (const gfl::ActionInfo &a : env.actions) {
      if (report->leavingAction < offset + a.count)
        return fail(a.decl->name.range,
                    report->leaving +
                        " leads outside the state's domain; its guard must "
                        "exclude the states where it would");
      offset += a.count;
    }
  }
  if (!report->cycle.empty())
    return fail(env.decl->name.range,
                "the state graph of environment '" + env.name +
                    "' has a cycle through state " + report->cycle +
                    ": a trajectory could go on forever (GFlowNets need a "
                    "DAG)");
  if (checked.train && checked.train->sampler.localSearch && report->longest) {
    const gfl::LocalSearchInfo &ls = *checked.train->sampler.localSearch;
    if (ls.backtrack > *report->longest)
      return fail(ls.backtrackRange,
                  "backtrack " + std::to_string(ls.backtrack) +
                      " is longer than the longest trajectory of "
                      "environment '" +
                      env.name + "' (" + std::to_string(*report->longest) +
                      " moves)");
  }
  return true;
}

cl::opt<bool> splitInputFile(
    "split-input-file",
    cl::desc("Compile each chunk between '// -----' lines separately "
             "(line numbers stay those of the whole file)"),
    cl::init(false), cl::cat(gflcCategory));

/// Compiles one buffer; writes the result to `out`. Returns the exit code:
/// 0, 1 for errors in the program, 2 for a bad --set (an option error).
int compile(const std::string &name, std::string text, llvm::raw_ostream &out) {
  gfl::SourceBuffer buffer(name, std::move(text));
  gfl::DiagnosticEngine diags(buffer);
  gfl::Parser parser(buffer, diags);
  gfl::Program program = parser.parseProgram();
  gfl::Overrides overrides;
  for (const std::string &kv : setValues) {
    size_t eq = kv.find('=');
    overrides[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
  }
  // The standard library supplies a train objective the program lacks.
  gfl::SourceBuffer library(kLibraryName, kStandardLibrary, /*id=*/1);
  diags.addBuffer(library);
  gfl::Program libraryProgram;
  bool usesLibrary = false;
  if (!diags.hasErrors()) {
    auto wanted = gfl::trainObjectiveName(program, overrides);
    if (wanted && !gfl::declaresObjective(program, *wanted)) {
      gfl::Parser libraryParser(library, diags);
      libraryProgram = libraryParser.parseProgram();
      usesLibrary = gfl::importObjective(program, libraryProgram, *wanted);
    }
  }
  gfl::CheckedProgram checked;
  if (!diags.hasErrors())
    checked = gfl::analyze(program, diags, overrides);
  for (const gfl::Diagnostic &d : diags.diagnostics())
    llvm::errs() << diags.format(d);
  if (checked.badOverride)
    return 2;
  if (diags.hasErrors())
    return 1;

  Emit emit = effectiveEmit();
  if (emit == Emit::AST) {
    std::ostringstream os;
    gfl::dumpAST(program, os);
    out << os.str();
    return 0;
  }

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::MLIRContext context(registry);
  // Errors from passes (e.g. a backward action that cannot be derived) point
  // into the .gfl file: print them like frontend errors, with the line.
  mlir::ScopedDiagnosticHandler handler(
      &context, [&](mlir::Diagnostic &d) -> mlir::LogicalResult {
        auto loc = llvm::dyn_cast<mlir::FileLineColLoc>(d.getLocation());
        if (!loc ||
            (loc.getFilename() != name && loc.getFilename() != kLibraryName))
          return mlir::failure(); // not ours: the default handler prints it
        gfl::Severity severity = d.getSeverity() == mlir::DiagnosticSeverity::Error
                                     ? gfl::Severity::Error
                                 : d.getSeverity() ==
                                         mlir::DiagnosticSeverity::Warning
                                     ? gfl::Severity::Warning
                                     : gfl::Severity::Note;
        uint16_t file = loc.getFilename() == name ? 0 : library.id();
        gfl::SourceLoc at{0, loc.getLine(), loc.getColumn(), file};
        llvm::errs() << diags.format(
            {severity, gfl::SourceRange(at), d.str()});
        return mlir::success();
      });
  mlir::OwningOpRef<mlir::ModuleOp> module =
      gfl::mlirGen(context, buffer, checked, usesLibrary ? &library : nullptr);
  if (!module || mlir::failed(mlir::verify(*module))) {
    llvm::errs() << name << ": error: internal compiler error: the generated "
                 << "module does not verify\n";
    return 1;
  }
  if (emit == Emit::MLIR) {
    module->print(out, mlir::OpPrintingFlags());
    out << "\n";
    return 0;
  }
  if (!lower(*module, checked, name, emit, out))
    return 1;
  if (emit == Emit::Artifact && !checkAgainstStateGraph(checked, diags)) {
    llvm::sys::fs::remove(outputFilename);
    return 1;
  }
  return 0;
}

/// A GPU architecture as ptxas names it: sm_NN or sm_NNa / sm_NNf.
bool isCudaArch(llvm::StringRef arch) {
  if (!arch.consume_front("sm_") || arch.empty())
    return false;
  if (arch.back() == 'a' || arch.back() == 'f')
    arch = arch.drop_back();
  unsigned number;
  return !arch.empty() && !arch.getAsInteger(10, number) && number >= 50;
}

/// Options that can be checked before anything is compiled.
bool checkOptions(std::string &why) {
  if (optLevel > 3) {
    why = "-O must be 0, 1, 2 or 3";
    return false;
  }
  if (!gfl::isKnownCpu(targetCpu)) {
    why = "--mcpu=" + targetCpu + ": not a CPU that LLVM knows for " +
          llvm::sys::getDefaultTargetTriple() +
          " (try 'native' or 'x86-64-v3')";
    return false;
  }
  for (auto [flag, arch] : {std::pair{"--cubin-arch", &cubinArch},
                            std::pair{"--ptx-arch", &ptxArch}})
    if (!isCudaArch(*arch)) {
      why = std::string(flag) + "=" + arch->getValue() +
            ": not a GPU architecture (e.g. sm_90)";
      return false;
    }
  if (outputFilename != "-") {
    llvm::SmallString<256> parent(outputFilename.getValue());
    llvm::sys::path::remove_filename(parent);
    if (parent.empty())
      parent = ".";
    if (llvm::sys::fs::is_directory(outputFilename.getValue())) {
      why = "-o " + outputFilename + ": is a directory";
      return false;
    }
    if (!llvm::sys::fs::is_directory(parent)) {
      why = "-o " + outputFilename + ": no directory '" + std::string(parent) +
            "'";
      return false;
    }
    if (llvm::sys::fs::access(parent, llvm::sys::fs::AccessMode::Write)) {
      why = "-o " + outputFilename + ": cannot write into '" +
            std::string(parent) + "'";
      return false;
    }
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::gfl::registerGflPassesAndPipelines();
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  cl::HideUnrelatedOptions(gflcCategory);
  // Option errors exit 2, like every other bad option below (cl's own
  // exit would be 1, the code of an error in the program).
  if (!cl::ParseCommandLineOptions(argc, argv, "gfl compiler\n", &llvm::errs()))
    return 2;
  if (std::string why; !checkOptions(why)) {
    llvm::errs() << "gflc: error: " << why << "\n";
    return 2;
  }

  auto fileOrErr = llvm::MemoryBuffer::getFileOrSTDIN(inputFilename,
                                                      /*IsText=*/true);
  if (std::error_code ec = fileOrErr.getError()) {
    llvm::errs() << "gflc: error: cannot open '" << inputFilename
                 << "': " << ec.message() << "\n";
    return 2;
  }
  std::string name =
      inputFilename == "-" ? std::string("<stdin>") : inputFilename.getValue();
  std::string text = (*fileOrErr)->getBuffer().str();

  if (target.getNumOccurrences() && target != Target::CPU) {
    std::string why;
    if (!gfl::cudaToolkitUsable(cudaPath, why)) {
      llvm::errs() << "gflc: error: --target=" << (target == Target::CUDA ? "cuda" : "all")
                   << " needs the CUDA toolkit: " << why
                   << " (give --cuda-path=DIR, or --target=cpu)\n";
      return 2;
    }
  }
  if ((emitAction == Emit::PTX || emitAction == Emit::Cubin) &&
      target.getNumOccurrences() && target == Target::CPU) {
    llvm::errs() << "gflc: error: --emit=ptx and --emit=cubin need a CUDA "
                    "target\n";
    return 2;
  }
  if (emitAction == Emit::Cubin && outputFilename == "-") {
    llvm::errs() << "gflc: error: a cubin is a binary file: give -o FILE\n";
    return 2;
  }

  // An artifact is written (atomically) by the linker step, not streamed.
  if (effectiveEmit() == Emit::Artifact) {
    if (outputFilename == "-" || splitInputFile) {
      llvm::errs() << "gflc: error: an artifact is a binary file: give "
                      "-o FILE.gflx (and no --split-input-file)\n";
      return 2;
    }
    return compile(name, std::move(text), llvm::nulls());
  }

  std::error_code ec;
  auto outFile = std::make_unique<llvm::ToolOutputFile>(
      outputFilename, ec, llvm::sys::fs::OF_None);
  if (ec) {
    llvm::errs() << "gflc: error: cannot write '" << outputFilename
                 << "': " << ec.message() << "\n";
    return 2;
  }

  int rc = 0;
  if (!splitInputFile) {
    rc = compile(name, std::move(text), outFile->os());
  } else {
    // Each chunk keeps its line numbers: it is preceded by as many newlines
    // as there are lines before it.
    std::istringstream in(text);
    std::string line, chunk;
    unsigned lineNo = 0, chunkStart = 0;
    bool first = true;
    auto flush = [&]() {
      if (!first)
        outFile->os() << "// -----\n";
      first = false;
      rc = std::max(rc, compile(name, std::string(chunkStart, '\n') + chunk,
                                outFile->os()));
    };
    while (std::getline(in, line)) {
      ++lineNo;
      if (line.rfind("// -----", 0) == 0) {
        flush();
        chunk.clear();
        chunkStart = lineNo;
        continue;
      }
      chunk += line + "\n";
    }
    flush();
  }
  if (rc == 0)
    outFile->keep();
  return rc;
}
