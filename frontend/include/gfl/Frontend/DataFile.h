//===- DataFile.h - Tables read at compile time by load() -------*- C++ -*-===//
//
// `param NAME = load("file")` reads a table when the program is compiled:
// a CSV file (one row per line, numbers separated by commas) or a NumPy
// .npy array. The value is embedded in the artifact like any other param.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_FRONTEND_DATAFILE_H
#define GFL_FRONTEND_DATAFILE_H

#include "gfl/Frontend/Sema.h"

#include <string>

namespace gfl {

/// Reads `path` (CSV unless it ends in `.npy`). A CSV of one column is a
/// vector, otherwise a [rows, columns] matrix; its elements are ints when
/// every entry is an integer, floats otherwise. On failure returns nullopt
/// and sets `error` to a one-line reason (with the line or element at
/// fault).
std::optional<ConstValue> loadDataFile(const std::string &path,
                                       std::string &error);

} // namespace gfl

#endif // GFL_FRONTEND_DATAFILE_H
