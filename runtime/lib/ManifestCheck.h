//===- ManifestCheck.h - The manifest against its kernels -------*- C++ -*-===//
//
// The runtime sizes every buffer from the manifest's env and network specs
// and the compiled kernels read and write what their signatures (the
// manifest's kernel table, taken from the compiled functions) say. Loading
// checks that the two agree, so that a manifest that disagrees with its
// kernels is a one-line error, never a kernel writing past a buffer.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_MANIFESTCHECK_H
#define GFL_RUNTIME_MANIFESTCHECK_H

#include "gfl/Runtime/Program.h"

namespace gfl {

/// Throws std::runtime_error naming the first disagreement between the
/// env, network and kernel sections of `program`'s manifest.
void checkManifestAgainstKernels(const Program &program);

} // namespace gfl

#endif // GFL_RUNTIME_MANIFESTCHECK_H
