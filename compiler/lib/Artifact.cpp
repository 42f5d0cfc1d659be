//===- Artifact.cpp - LLVM IR, machine code and the .gflx shared object ---===//

#include "gfl/Compiler/Artifact.h"
#include "gfl/Runtime/ArtifactSeal.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

namespace gfl {

namespace {

std::unique_ptr<llvm::TargetMachine>
createTargetMachine(const CodegenOptions &options, std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  std::string triple = llvm::sys::getDefaultTargetTriple();
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  std::string cpu = options.cpu == "native"
                        ? llvm::sys::getHostCPUName().str()
                        : options.cpu;
  llvm::TargetOptions targetOptions;
  auto level = options.optLevel >= 3   ? llvm::CodeGenOptLevel::Aggressive
               : options.optLevel == 0 ? llvm::CodeGenOptLevel::None
                                       : llvm::CodeGenOptLevel::Default;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpu, "", targetOptions, llvm::Reloc::PIC_, std::nullopt, level));
  if (!tm)
    error = "cannot create a target machine for " + triple + " / " + cpu;
  return tm;
}

/// `void NAME_packed(void **args)` calling `_mlir_ciface_NAME`: args[i] is
/// the memref descriptor of a buffer argument, or points at the value of a
/// scalar argument.
void addPackedEntry(llvm::Module &module, llvm::Function &ciface,
                    llvm::StringRef name) {
  llvm::LLVMContext &ctx = module.getContext();
  auto *ptrTy = llvm::PointerType::getUnqual(ctx);
  auto *fnTy =
      llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrTy}, false);
  auto *fn = llvm::Function::Create(fnTy, llvm::GlobalValue::ExternalLinkage,
                                    name + "_packed", module);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  llvm::SmallVector<llvm::Value *> args;
  for (unsigned i = 0; i < ciface.arg_size(); ++i) {
    llvm::Value *slotAddr = b.CreateConstGEP1_64(ptrTy, fn->getArg(0), i);
    llvm::Value *slot = b.CreateLoad(ptrTy, slotAddr);
    llvm::Type *type = ciface.getArg(i)->getType();
    args.push_back(type->isPointerTy() ? slot : b.CreateLoad(type, slot));
  }
  b.CreateCall(&ciface, args);
  b.CreateRetVoid();
}

} // namespace

bool isKnownCpu(const std::string &cpu) {
  if (cpu == "native")
    return true;
  llvm::InitializeNativeTarget();
  std::string triple = llvm::sys::getDefaultTargetTriple(), error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return false;
  std::unique_ptr<llvm::MCSubtargetInfo> info(
      target->createMCSubtargetInfo(triple, "", ""));
  return info && info->isCPUStringValid(cpu);
}

std::unique_ptr<llvm::Module>
translateToLLVMIR(mlir::ModuleOp llvmDialect, llvm::LLVMContext &ctx,
                  const std::string &manifestJson,
                  const CodegenOptions &options, std::string &error) {
  // The gfl.* argument attributes served the kernel table; LLVM has no use
  // for them.
  llvmDialect.walk([](mlir::LLVM::LLVMFuncOp func) {
    for (unsigned i = 0; i < func.getNumArguments(); ++i) {
      func.removeArgAttr(i, "gfl.name");
      func.removeArgAttr(i, "gfl.output");
    }
  });
  mlir::DialectRegistry registry;
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
  llvmDialect->getContext()->appendDialectRegistry(registry);
  std::unique_ptr<llvm::Module> module =
      mlir::translateModuleToLLVMIR(llvmDialect, ctx, "gfl");
  if (!module) {
    error = "translation to LLVM IR failed";
    return nullptr;
  }
  auto tm = createTargetMachine(options, error);
  if (!tm)
    return nullptr;
  module->setDataLayout(tm->createDataLayout());
  module->setTargetTriple(tm->getTargetTriple().str());

  // Packed entries for every kernel with a C interface.
  llvm::SmallVector<llvm::Function *> cifaces;
  for (llvm::Function &f : *module)
    if (f.getName().starts_with("_mlir_ciface_") && !f.isDeclaration())
      cifaces.push_back(&f);
  for (llvm::Function *f : cifaces)
    addPackedEntry(*module, *f,
                   f->getName().drop_front(strlen("_mlir_ciface_")));

  // The manifest, NUL-terminated, exported as `gfl_manifest`.
  auto *init = llvm::ConstantDataArray::getString(ctx, manifestJson, true);
  auto *manifest = new llvm::GlobalVariable(
      *module, init->getType(), /*isConstant=*/true,
      llvm::GlobalValue::ExternalLinkage, init, "gfl_manifest");
  manifest->setAlignment(llvm::Align(8));
  for (const auto &[symbol, bytes] : options.blobs) {
    auto *data = llvm::ConstantDataArray::getString(ctx, bytes, true);
    auto *blob = new llvm::GlobalVariable(
        *module, data->getType(), /*isConstant=*/true,
        llvm::GlobalValue::ExternalLinkage, data, symbol);
    blob->setAlignment(llvm::Align(16));
  }

  if (llvm::verifyModule(*module, &llvm::errs())) {
    error = "the generated LLVM IR does not verify";
    return nullptr;
  }

  // Optimize. Only the packed entries and the manifest need to stay
  // visible; everything else may be inlined and internalized by the linker.
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(tm.get());
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  auto level = options.optLevel >= 3   ? llvm::OptimizationLevel::O3
               : options.optLevel == 2 ? llvm::OptimizationLevel::O2
               : options.optLevel == 1 ? llvm::OptimizationLevel::O1
                                       : llvm::OptimizationLevel::O0;
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(level);
  mpm.run(*module, mam);
  return module;
}

bool emitMachineCode(llvm::Module &module, llvm::raw_pwrite_stream &os,
                     bool asObject, const CodegenOptions &options,
                     std::string &error) {
  auto tm = createTargetMachine(options, error);
  if (!tm)
    return false;
  llvm::legacy::PassManager pm;
  auto type = asObject ? llvm::CodeGenFileType::ObjectFile
                       : llvm::CodeGenFileType::AssemblyFile;
  if (tm->addPassesToEmitFile(pm, os, nullptr, type)) {
    error = "the target cannot emit this file type";
    return false;
  }
  pm.run(module);
  return true;
}

bool writeArtifact(llvm::Module &module, const std::string &path,
                   const CodegenOptions &options, std::string &error) {
  llvm::SmallString<128> objPath;
  int fd;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("gfl", "o", fd, objPath)) {
    error = "cannot create a temporary file: " + ec.message();
    return false;
  }
  llvm::FileRemover removeObj(objPath);
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    if (!emitMachineCode(module, os, /*asObject=*/true, options, error))
      return false;
  }
  // The system compiler driver links the object into a shared object.
  llvm::ErrorOr<std::string> cc = llvm::sys::findProgramByName("cc");
  if (!cc) {
    error = "no linker driver 'cc' on PATH (install build-essential)";
    return false;
  }
  llvm::SmallString<128> tmpOut(path);
  tmpOut += ".tmp";
  llvm::SmallVector<llvm::StringRef> args = {
      *cc, "-shared", "-o", tmpOut, objPath, "-lm"};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*cc, args, std::nullopt, {}, 0, 0,
                                     &message);
  if (rc != 0) {
    llvm::sys::fs::remove(tmpOut);
    error = "linking the artifact failed" +
            (message.empty() ? std::string() : ": " + message);
    return false;
  }
  if (!sealArtifact(std::string(tmpOut), error)) {
    llvm::sys::fs::remove(tmpOut);
    return false;
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmpOut, path)) {
    llvm::sys::fs::remove(tmpOut);
    error = "cannot write '" + path + "': " + ec.message();
    return false;
  }
  return true;
}

} // namespace gfl
