//===- Passes.h - gfl transformation passes ---------------------*- C++ -*-===//

#ifndef GFL_TRANSFORMS_PASSES_H
#define GFL_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir::gfl {

#define GEN_PASS_DECL
#include "gfl/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "gfl/Transforms/Passes.h.inc"

} // namespace mlir::gfl

#endif // GFL_TRANSFORMS_PASSES_H
