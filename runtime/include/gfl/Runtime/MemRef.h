//===- MemRef.h - Buffers in the kernel ABI ---------------------*- C++ -*-===//
//
// Kernels take every batch buffer as an MLIR strided memref descriptor
// {allocated, aligned, offset, sizes[rank], strides[rank]} (docs/artifact.md).
// `Buffer<T>` owns contiguous row-major storage and builds its descriptor;
// `bool` buffers hold one byte per element.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_MEMREF_H
#define GFL_RUNTIME_MEMREF_H

#include <cstdint>
#include <vector>

namespace gfl {

/// The descriptor of a rank-R memref: {allocated, aligned, offset,
/// sizes[R], strides[R]}, the strides directly after the R sizes.
template <int Rank> struct MemRefDescriptor {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[Rank];
  int64_t strides[Rank];
};

/// Storage for a descriptor of any rank up to 8; `shape` entries hold the
/// sizes, then the strides follow immediately (not at a fixed offset).
struct AnyRankDescriptor {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t shapeAndStrides[16];
};

/// The descriptor of contiguous row-major storage of `shape` at `data`.
inline AnyRankDescriptor rowMajorDescriptor(void *data,
                                            const std::vector<int64_t> &shape) {
  AnyRankDescriptor d{};
  d.allocated = data;
  d.aligned = data;
  d.offset = 0;
  int rank = static_cast<int>(shape.size());
  int64_t stride = 1;
  for (int i = rank - 1; i >= 0; --i) {
    d.shapeAndStrides[i] = shape[i];
    d.shapeAndStrides[rank + i] = stride;
    stride *= shape[i];
  }
  return d;
}

/// Owning row-major storage with a descriptor for a given shape.
template <typename T> class Buffer {
public:
  Buffer() = default;
  explicit Buffer(std::vector<int64_t> shape, T fill = T())
      : shape_(std::move(shape)) {
    int64_t n = 1;
    for (int64_t d : shape_)
      n *= d;
    data_.assign(static_cast<size_t>(n), fill);
  }

  T *data() { return data_.data(); }
  const T *data() const { return data_.data(); }
  size_t size() const { return data_.size(); }
  const std::vector<int64_t> &shape() const { return shape_; }
  T &operator[](size_t i) { return data_[i]; }
  const T &operator[](size_t i) const { return data_[i]; }
  std::vector<T> &vector() { return data_; }

  /// A pointer to the descriptor, valid until the buffer changes.
  void *descriptor() {
    desc_ = rowMajorDescriptor(data_.data(), shape_);
    return &desc_;
  }

private:
  std::vector<int64_t> shape_;
  std::vector<T> data_;
  AnyRankDescriptor desc_{};
};

} // namespace gfl

#endif // GFL_RUNTIME_MEMREF_H
