//===- SourceLocation.h - Locations in .gfl source ---------------*- C++ -*-===//
//
// Positions are 1-based line/column pairs plus a byte offset into the buffer;
// a range covers [begin, end) in bytes.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_FRONTEND_SOURCELOCATION_H
#define GFL_FRONTEND_SOURCELOCATION_H

#include <cstdint>

namespace gfl {

struct SourceLoc {
  uint32_t offset = 0;
  uint32_t line = 0; // 1-based; 0 means unknown
  uint32_t col = 0;  // 1-based
  uint16_t file = 0; // SourceBuffer::id(): 0 is the main file

  bool isValid() const { return line != 0; }
};

struct SourceRange {
  SourceLoc begin;
  SourceLoc end; // one past the last character

  SourceRange() = default;
  SourceRange(SourceLoc b, SourceLoc e) : begin(b), end(e) {}
  explicit SourceRange(SourceLoc l) : begin(l), end(l) {}

  bool isValid() const { return begin.isValid(); }
  /// The smallest range that covers both.
  static SourceRange merge(SourceRange a, SourceRange b) {
    if (!a.isValid())
      return b;
    if (!b.isValid())
      return a;
    SourceRange r = a;
    if (b.begin.offset < r.begin.offset)
      r.begin = b.begin;
    if (b.end.offset > r.end.offset)
      r.end = b.end;
    return r;
  }
};

} // namespace gfl

#endif // GFL_FRONTEND_SOURCELOCATION_H
