//===- Library.h - Objectives from the standard library ---------*- C++ -*-===//
//
// A program may train with an objective it does not define (`objective tb`);
// the compiler then takes it from the standard library, parsed from its own
// buffer so that diagnostics and locations point into the library file.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_FRONTEND_LIBRARY_H
#define GFL_FRONTEND_LIBRARY_H

#include "gfl/Frontend/AST.h"
#include "gfl/Frontend/Sema.h"

#include <optional>
#include <string>

namespace gfl {

/// The objective named by the train block, or by `--set train.objective`.
std::optional<std::string> trainObjectiveName(const Program &program,
                                              const Overrides &overrides);

/// True when `program` declares an objective called `name`.
bool declaresObjective(const Program &program, const std::string &name);

/// Moves the objective `name` from `library` into `program`; false if the
/// library has none.
bool importObjective(Program &program, Program &library,
                     const std::string &name);

} // namespace gfl

#endif // GFL_FRONTEND_LIBRARY_H
