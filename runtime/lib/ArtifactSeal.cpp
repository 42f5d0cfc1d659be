//===- ArtifactSeal.cpp - The self-check at the end of an artifact --------===//

#include "gfl/Runtime/ArtifactSeal.h"
#include "gfl/Runtime/Sha256.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace gfl {

namespace {

constexpr char kMagic[8] = {'G', 'F', 'L', 'X', 'S', 'E', 'A', 'L'};

/// An fd closed on scope exit.
struct File {
  int fd = -1;
  ~File() {
    if (fd >= 0)
      close(fd);
  }
};

bool readFully(int fd, void *data, size_t size) {
  auto *p = static_cast<char *>(data);
  while (size > 0) {
    ssize_t n = read(fd, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool writeFully(int fd, const void *data, size_t size) {
  const auto *p = static_cast<const char *>(data);
  while (size > 0) {
    ssize_t n = write(fd, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

/// SHA-256 of the first `size` bytes of `fd`, read from its start.
bool hashPrefix(int fd, uint64_t size, Sha256::Digest &digest) {
  if (lseek(fd, 0, SEEK_SET) != 0)
    return false;
  Sha256 h;
  std::vector<char> chunk(1 << 16);
  while (size > 0) {
    size_t take = static_cast<size_t>(std::min<uint64_t>(size, chunk.size()));
    if (!readFully(fd, chunk.data(), take))
      return false;
    h.update(chunk.data(), take);
    size -= take;
  }
  digest = h.finish();
  return true;
}

} // namespace

bool sealArtifact(const std::string &path, std::string &error) {
  File f;
  f.fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  struct stat info;
  if (f.fd < 0 || fstat(f.fd, &info) != 0) {
    error = "cannot seal '" + path + "': " + std::strerror(errno);
    return false;
  }
  uint64_t size = static_cast<uint64_t>(info.st_size);
  Sha256::Digest digest;
  if (!hashPrefix(f.fd, size, digest)) {
    error = "cannot seal '" + path + "': read failed";
    return false;
  }
  char seal[kArtifactSealSize];
  std::memcpy(seal, digest.data(), 32);
  for (int i = 0; i < 8; ++i)
    seal[32 + i] = static_cast<char>(size >> (8 * i));
  std::memcpy(seal + 40, kMagic, 8);
  if (lseek(f.fd, 0, SEEK_END) < 0 || !writeFully(f.fd, seal, sizeof seal) ||
      fsync(f.fd) != 0) {
    error = "cannot seal '" + path + "': " + std::strerror(errno);
    return false;
  }
  return true;
}

bool checkArtifactSeal(const std::string &path, std::string &error) {
  File f;
  // O_NONBLOCK: opening a FIFO must not wait for a writer.
  f.fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (f.fd < 0) {
    error = "cannot load artifact '" + path + "': " + std::strerror(errno);
    return false;
  }
  struct stat info;
  if (fstat(f.fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    error = "cannot load artifact '" + path + "': not a regular file";
    return false;
  }
  uint64_t size = static_cast<uint64_t>(info.st_size);
  char seal[kArtifactSealSize];
  if (size < kArtifactSealSize ||
      lseek(f.fd, static_cast<off_t>(size - kArtifactSealSize), SEEK_SET) < 0 ||
      !readFully(f.fd, seal, sizeof seal) ||
      std::memcmp(seal + 40, kMagic, 8) != 0) {
    error = "'" + path +
            "' is not a gfl artifact, or is damaged: it does not end with the "
            "seal gflc writes";
    return false;
  }
  uint64_t recorded = 0;
  for (int i = 0; i < 8; ++i)
    recorded |= uint64_t(static_cast<uint8_t>(seal[32 + i])) << (8 * i);
  uint64_t contents = size - kArtifactSealSize;
  if (recorded != contents) {
    error = "'" + path + "' is damaged: " + std::to_string(contents) +
            " bytes before its seal, which records " +
            std::to_string(recorded) + " (truncated or appended to)";
    return false;
  }
  Sha256::Digest digest;
  if (!hashPrefix(f.fd, contents, digest)) {
    error = "cannot load artifact '" + path + "': read failed";
    return false;
  }
  if (std::memcmp(digest.data(), seal, 32) != 0) {
    error = "'" + path +
            "' is damaged: its SHA-256 does not match its seal (modified "
            "after gflc wrote it)";
    return false;
  }
  return true;
}

} // namespace gfl
