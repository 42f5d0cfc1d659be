//===- FrontendTestUtil.h - Helpers for frontend unit tests -----*- C++ -*-===//

#ifndef GFL_TEST_UNIT_FRONTENDTESTUTIL_H
#define GFL_TEST_UNIT_FRONTENDTESTUTIL_H

#include "gfl/Frontend/Parser.h"
#include "gfl/Frontend/Sema.h"

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace gfl::test {

/// Parses and checks `text`, keeping everything alive for inspection.
struct Compiled {
  std::unique_ptr<SourceBuffer> buffer;
  std::unique_ptr<DiagnosticEngine> diags;
  Program program;
  CheckedProgram checked;

  bool ok() const { return !diags->hasErrors(); }
  std::string messages() const {
    std::ostringstream os;
    diags->print(os);
    return os.str();
  }
};

inline Compiled compile(const std::string &text, bool runSema = true) {
  Compiled c;
  c.buffer = std::make_unique<SourceBuffer>("test.gfl", text);
  c.diags = std::make_unique<DiagnosticEngine>(*c.buffer);
  Parser parser(*c.buffer, *c.diags);
  c.program = parser.parseProgram();
  if (runSema && !c.diags->hasErrors())
    c.checked = analyze(c.program, *c.diags);
  return c;
}

inline std::string readExample(const std::string &name) {
  std::ifstream in(std::string(GFL_EXAMPLES_DIR) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace gfl::test

#endif // GFL_TEST_UNIT_FRONTENDTESTUTIL_H
