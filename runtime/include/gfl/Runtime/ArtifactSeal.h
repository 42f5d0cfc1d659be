//===- ArtifactSeal.h - The self-check at the end of an artifact -*- C++
//-*-===//
//
// gflc appends a 48-byte seal to every artifact it writes: the SHA-256 of
// the bytes before it, their count (u64, little endian) and the magic
// "GFLXSEAL". The dynamic loader ignores bytes past an ELF file's contents,
// and gfl-run checks the seal before anything maps the file, so that a
// truncated or modified artifact is a one-line error, never a SIGBUS inside
// dlopen.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_ARTIFACTSEAL_H
#define GFL_RUNTIME_ARTIFACTSEAL_H

#include <cstddef>
#include <string>

namespace gfl {

constexpr size_t kArtifactSealSize = 48;

/// Appends the seal to the file at `path`.
bool sealArtifact(const std::string &path, std::string &error);

/// Checks that `path` is a regular file that ends with a seal matching its
/// contents. Never blocks (a FIFO is refused, not opened for reading).
bool checkArtifactSeal(const std::string &path, std::string &error);

} // namespace gfl

#endif // GFL_RUNTIME_ARTIFACTSEAL_H
