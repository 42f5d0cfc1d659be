//===- Passes.h - gfl conversion passes -------------------------*- C++ -*-===//

#ifndef GFL_CONVERSION_PASSES_H
#define GFL_CONVERSION_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;

namespace gfl {

/// gfl.reduce, gfl.range_reduce and gfl.logsumexp to linalg / scf / math.
void populateGflReductionLoweringPatterns(RewritePatternSet &patterns);
/// gfl.onehot, gfl.concat and gfl.masked_log_softmax to linalg / tensor.
void populateGflTensorOpLoweringPatterns(RewritePatternSet &patterns);
/// gfl.stop_grad and gfl.huber to arith / math.
void populateGflScalarOpLoweringPatterns(RewritePatternSet &patterns);

#define GEN_PASS_DECL
#include "gfl/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "gfl/Conversion/Passes.h.inc"

} // namespace gfl
} // namespace mlir

#endif // GFL_CONVERSION_PASSES_H
