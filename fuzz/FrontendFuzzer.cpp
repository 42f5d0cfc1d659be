//===- FrontendFuzzer.cpp - libFuzzer target for lexer, parser, sema ------===//
//
// Feeds arbitrary bytes through the whole frontend, including diagnostic
// formatting and the AST dump. Any crash, sanitizer report, hang or
// unbounded allocation is a bug: hostile .gfl input must only ever produce
// diagnostics. Build and run with scripts/fuzz.sh.
//
//===----------------------------------------------------------------------===//

#include "gfl/Frontend/ASTDump.h"
#include "gfl/Frontend/Parser.h"
#include "gfl/Frontend/Sema.h"

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gfl::SourceBuffer buffer("fuzz.gfl",
                           std::string(reinterpret_cast<const char *>(data),
                                       size));
  gfl::DiagnosticEngine diags(buffer);
  gfl::Parser parser(buffer, diags);
  gfl::Program program = parser.parseProgram();
  if (!diags.hasErrors())
    gfl::analyze(program, diags);
  std::ostringstream os;
  diags.print(os);
  if (!diags.hasErrors())
    gfl::dumpAST(program, os);
  return 0;
}
