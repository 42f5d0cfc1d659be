//===- gflc.cpp - The .gfl compiler driver --------------------------------===//
//
//   gflc model.gfl --emit=ast     the checked AST
//   gflc model.gfl --emit=mlir    the gfl dialect module
//
// Exit status: 0 on success, 1 when the input has errors (reported as
// file:line:col diagnostics on stderr), 2 for unusable options or files.
//
//===----------------------------------------------------------------------===//

#include "gfl/Compiler/MLIRGen.h"
#include "gfl/Frontend/ASTDump.h"
#include "gfl/Frontend/Parser.h"
#include "gfl/Frontend/Sema.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <iostream>
#include <sstream>

namespace cl = llvm::cl;

namespace {

enum class Emit { AST, MLIR };

cl::OptionCategory gflcCategory("gflc options");

cl::opt<std::string> inputFilename(cl::Positional,
                                   cl::desc("<input .gfl file>"),
                                   cl::init("-"), cl::cat(gflcCategory));

cl::opt<std::string> outputFilename("o", cl::desc("Output file"),
                                    cl::value_desc("filename"), cl::init("-"),
                                    cl::cat(gflcCategory));

cl::opt<Emit> emitAction(
    "emit", cl::desc("What to produce"), cl::init(Emit::MLIR),
    cl::values(clEnumValN(Emit::AST, "ast", "the checked syntax tree"),
               clEnumValN(Emit::MLIR, "mlir", "the gfl dialect module")),
    cl::cat(gflcCategory));

cl::opt<bool> splitInputFile(
    "split-input-file",
    cl::desc("Compile each chunk between '// -----' lines separately "
             "(line numbers stay those of the whole file)"),
    cl::init(false), cl::cat(gflcCategory));

/// Compiles one buffer; writes the result to `out`. Returns false on errors.
bool compile(const std::string &name, std::string text, llvm::raw_ostream &out) {
  gfl::SourceBuffer buffer(name, std::move(text));
  gfl::DiagnosticEngine diags(buffer);
  gfl::Parser parser(buffer, diags);
  gfl::Program program = parser.parseProgram();
  gfl::CheckedProgram checked;
  if (!diags.hasErrors())
    checked = gfl::analyze(program, diags);
  for (const gfl::Diagnostic &d : diags.diagnostics())
    llvm::errs() << diags.format(d);
  if (diags.hasErrors())
    return false;

  if (emitAction == Emit::AST) {
    std::ostringstream os;
    gfl::dumpAST(program, os);
    out << os.str();
    return true;
  }

  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      gfl::mlirGen(context, buffer, checked);
  if (!module || mlir::failed(mlir::verify(*module))) {
    llvm::errs() << name << ": error: internal compiler error: the generated "
                 << "module does not verify\n";
    return false;
  }
  module->print(out, mlir::OpPrintingFlags());
  out << "\n";
  return true;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  cl::HideUnrelatedOptions(gflcCategory);
  cl::ParseCommandLineOptions(argc, argv, "gfl compiler\n");

  auto fileOrErr = llvm::MemoryBuffer::getFileOrSTDIN(inputFilename,
                                                      /*IsText=*/true);
  if (std::error_code ec = fileOrErr.getError()) {
    llvm::errs() << "gflc: error: cannot open '" << inputFilename
                 << "': " << ec.message() << "\n";
    return 2;
  }
  std::error_code ec;
  auto outFile = std::make_unique<llvm::ToolOutputFile>(
      outputFilename, ec, llvm::sys::fs::OF_None);
  if (ec) {
    llvm::errs() << "gflc: error: cannot write '" << outputFilename
                 << "': " << ec.message() << "\n";
    return 2;
  }
  std::string name =
      inputFilename == "-" ? std::string("<stdin>") : inputFilename.getValue();
  std::string text = (*fileOrErr)->getBuffer().str();

  bool ok = true;
  if (!splitInputFile) {
    ok = compile(name, std::move(text), outFile->os());
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
      ok &= compile(name, std::string(chunkStart, '\n') + chunk, outFile->os());
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
  if (ok)
    outFile->keep();
  return ok ? 0 : 1;
}
