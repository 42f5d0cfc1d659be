//===- Diagnostics.h - Located errors and notes for .gfl files ---*- C++ -*-===//
//
// Prints clang-style diagnostics:
//
//   file:line:col: error: message
//     <the source line>
//         ^~~~~
//
// Notes attach to the preceding error. The engine stops recording after
// `maxErrors` errors so that pathological inputs cannot flood the output.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_FRONTEND_DIAGNOSTICS_H
#define GFL_FRONTEND_DIAGNOSTICS_H

#include "gfl/Frontend/SourceLocation.h"

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace gfl {

/// One .gfl buffer: its name (the path shown in diagnostics), its text and
/// the id that its source locations carry (0 for the main file).
class SourceBuffer {
public:
  SourceBuffer(std::string name, std::string text, uint16_t id = 0);

  const std::string &name() const { return name_; }
  uint16_t id() const { return id_; }
  std::string_view text() const { return text_; }
  /// The text of 1-based line `line`, without its line terminator.
  std::string_view lineText(uint32_t line) const;
  uint32_t lineCount() const { return lineStarts_.size(); }

private:
  std::string name_;
  std::string text_;
  uint16_t id_;
  std::vector<uint32_t> lineStarts_;
};

enum class Severity { Error, Warning, Note };

struct Diagnostic {
  Severity severity;
  SourceRange range;
  std::string message;
};

class DiagnosticEngine {
public:
  explicit DiagnosticEngine(const SourceBuffer &buffer, unsigned maxErrors = 20)
      : buffer_(buffer), maxErrors_(maxErrors) {}

  void error(SourceRange range, std::string message);
  void warning(SourceRange range, std::string message);
  /// A note about the most recent error or warning (dropped if that one was).
  void note(SourceRange range, std::string message);

  unsigned errorCount() const { return errorCount_; }
  bool hasErrors() const { return errorCount_ != 0; }
  /// True once `maxErrors` errors were reported; callers may stop early.
  bool tooManyErrors() const { return errorCount_ >= maxErrors_; }

  const std::vector<Diagnostic> &diagnostics() const { return diags_; }
  const SourceBuffer &buffer() const { return buffer_; }
  /// Registers another buffer (e.g. the standard library) whose locations
  /// carry its id.
  void addBuffer(const SourceBuffer &buffer) { others_.push_back(&buffer); }
  /// The buffer a location belongs to.
  const SourceBuffer &bufferOf(SourceLoc loc) const;

  /// Writes every recorded diagnostic in source form.
  void print(std::ostream &os) const;
  /// Formats a single diagnostic with its source line and caret.
  std::string format(const Diagnostic &d) const;

private:
  void report(Severity s, SourceRange range, std::string message);

  const SourceBuffer &buffer_;
  std::vector<const SourceBuffer *> others_;
  unsigned maxErrors_;
  unsigned errorCount_ = 0;
  bool lastDropped_ = false;
  bool truncationNoted_ = false;
  std::vector<Diagnostic> diags_;
};

} // namespace gfl

#endif // GFL_FRONTEND_DIAGNOSTICS_H
