//===- ASTDump.h - Textual dump of the AST (gflc --emit=ast) -----*- C++ -*-===//

#ifndef GFL_FRONTEND_ASTDUMP_H
#define GFL_FRONTEND_ASTDUMP_H

#include "gfl/Frontend/AST.h"

#include <ostream>

namespace gfl {

/// One node per line, indented by depth, with `<line:col>` of the node's
/// first character and, after Sema, the expression types.
void dumpAST(const Program &program, std::ostream &os);

} // namespace gfl

#endif // GFL_FRONTEND_ASTDUMP_H
