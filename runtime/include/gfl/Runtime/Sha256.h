//===- Sha256.h - SHA-256 (FIPS 180-4) --------------------------*- C++ -*-===//
//
// The digest that seals artifacts (ArtifactSeal.h) and that the manifest
// records for files a run depends on. A small self-contained implementation:
// the runtime core links neither LLVM nor a crypto library.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_SHA256_H
#define GFL_RUNTIME_SHA256_H

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace gfl {

class Sha256 {
public:
  using Digest = std::array<uint8_t, 32>;

  Sha256();
  void update(const void *data, size_t size);
  /// The digest of everything given to update(); the object is then spent.
  Digest finish();

  static Digest of(const void *data, size_t size);
  static std::string hex(const Digest &digest);

private:
  void compress(const uint8_t *block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_;
  size_t buffered_ = 0;
  uint64_t length_ = 0; // bytes
};

} // namespace gfl

#endif // GFL_RUNTIME_SHA256_H
