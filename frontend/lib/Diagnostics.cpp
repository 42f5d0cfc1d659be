//===- Diagnostics.cpp - Located errors and notes -------------------------===//

#include "gfl/Frontend/Diagnostics.h"

#include <fmt/format.h>

namespace gfl {

SourceBuffer::SourceBuffer(std::string name, std::string text, uint16_t id)
    : name_(std::move(name)), text_(std::move(text)), id_(id) {
  lineStarts_.push_back(0);
  for (uint32_t i = 0; i < text_.size(); ++i)
    if (text_[i] == '\n')
      lineStarts_.push_back(i + 1);
}

std::string_view SourceBuffer::lineText(uint32_t line) const {
  if (line == 0 || line > lineStarts_.size())
    return {};
  uint32_t begin = lineStarts_[line - 1];
  uint32_t end = line < lineStarts_.size() ? lineStarts_[line] - 1
                                           : static_cast<uint32_t>(text_.size());
  std::string_view s(text_);
  s = s.substr(begin, end - begin);
  if (!s.empty() && s.back() == '\r')
    s.remove_suffix(1);
  return s;
}

void DiagnosticEngine::report(Severity s, SourceRange range,
                              std::string message) {
  if (s == Severity::Note) {
    if (!lastDropped_)
      diags_.push_back({s, range, std::move(message)});
    return;
  }
  if (s == Severity::Error) {
    if (errorCount_ >= maxErrors_) {
      lastDropped_ = true;
      if (!truncationNoted_) {
        truncationNoted_ = true;
        diags_.push_back({Severity::Error, SourceRange(),
                          "too many errors emitted, stopping now"});
      }
      return;
    }
    ++errorCount_;
  }
  lastDropped_ = false;
  diags_.push_back({s, range, std::move(message)});
}

void DiagnosticEngine::error(SourceRange range, std::string message) {
  report(Severity::Error, range, std::move(message));
}
void DiagnosticEngine::warning(SourceRange range, std::string message) {
  report(Severity::Warning, range, std::move(message));
}
void DiagnosticEngine::note(SourceRange range, std::string message) {
  report(Severity::Note, range, std::move(message));
}

static const char *severityName(Severity s) {
  switch (s) {
  case Severity::Error:
    return "error";
  case Severity::Warning:
    return "warning";
  case Severity::Note:
    return "note";
  }
  return "error";
}

const SourceBuffer &DiagnosticEngine::bufferOf(SourceLoc loc) const {
  for (const SourceBuffer *b : others_)
    if (b->id() == loc.file)
      return *b;
  return buffer_;
}

std::string DiagnosticEngine::format(const Diagnostic &d) const {
  if (!d.range.isValid())
    return fmt::format("{}: {}: {}\n", buffer_.name(), severityName(d.severity),
                       d.message);
  const SourceBuffer &buffer = bufferOf(d.range.begin);
  std::string out =
      fmt::format("{}:{}:{}: {}: {}\n", buffer.name(), d.range.begin.line,
                  d.range.begin.col, severityName(d.severity), d.message);
  std::string_view line = buffer.lineText(d.range.begin.line);
  // Tabs are echoed as-is in the caret line so that the caret stays aligned.
  std::string caret;
  uint32_t col = d.range.begin.col;
  for (uint32_t i = 1; i < col && i - 1 < line.size(); ++i)
    caret += line[i - 1] == '\t' ? '\t' : ' ';
  caret += '^';
  // Underline the rest of the range, clipped to this line.
  uint32_t len = d.range.end.offset > d.range.begin.offset
                     ? d.range.end.offset - d.range.begin.offset
                     : 1;
  size_t lineRemaining = line.size() >= col ? line.size() - col + 1 : 1;
  if (len > lineRemaining)
    len = lineRemaining;
  for (uint32_t i = 1; i < len; ++i)
    caret += '~';
  out += fmt::format("{}\n{}\n", line, caret);
  return out;
}

void DiagnosticEngine::print(std::ostream &os) const {
  for (const Diagnostic &d : diags_)
    os << format(d);
}

} // namespace gfl
