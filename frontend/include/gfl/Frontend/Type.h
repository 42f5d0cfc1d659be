//===- Type.h - Types of .gfl expressions ------------------------*- C++ -*-===//
//
// Values are scalars or fixed-shape tensors of int (32-bit), float (32-bit)
// or bool. Objectives additionally see `trajectory` values and per-step
// sequences (`seq<float>`) whose length varies between trajectories.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_FRONTEND_TYPE_H
#define GFL_FRONTEND_TYPE_H

#include <cstdint>
#include <string>
#include <vector>

namespace gfl {

enum class ScalarKind { Int, Float, Bool };

enum class TypeKind {
  Invalid,    // not yet computed, or an error was reported
  Value,      // scalar or tensor of ScalarKind
  Trajectory, // objective parameter `t: trajectory`
  Seq,        // per-step sequence of a trajectory (t.log_pf)
  Network,    // a model entry used as a value (only logZ is readable)
  Symbol,     // symbolic sizes in network signatures: features, actions
};

struct Type {
  TypeKind kind = TypeKind::Invalid;
  ScalarKind scalar = ScalarKind::Int;
  std::vector<int64_t> shape; // Value: empty for scalars

  static Type invalid() { return {}; }
  static Type scalarOf(ScalarKind k) { return {TypeKind::Value, k, {}}; }
  static Type tensorOf(ScalarKind k, std::vector<int64_t> s) {
    return {TypeKind::Value, k, std::move(s)};
  }
  static Type intTy() { return scalarOf(ScalarKind::Int); }
  static Type floatTy() { return scalarOf(ScalarKind::Float); }
  static Type boolTy() { return scalarOf(ScalarKind::Bool); }
  static Type trajectory() { return {TypeKind::Trajectory, ScalarKind::Float, {}}; }
  static Type seqOf(ScalarKind k) { return {TypeKind::Seq, k, {}}; }
  static Type network() { return {TypeKind::Network, ScalarKind::Float, {}}; }
  static Type symbol() { return {TypeKind::Symbol, ScalarKind::Int, {}}; }

  bool isValid() const { return kind != TypeKind::Invalid; }
  bool isValue() const { return kind == TypeKind::Value; }
  bool isScalar() const { return isValue() && shape.empty(); }
  bool isTensor() const { return isValue() && !shape.empty(); }
  bool isNumeric() const { return isValue() && scalar != ScalarKind::Bool; }
  bool is(ScalarKind k) const { return isValue() && scalar == k; }
  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  Type withScalar(ScalarKind k) const { return {kind, k, shape}; }
  Type elementType() const { return scalarOf(scalar); }

  bool operator==(const Type &o) const {
    return kind == o.kind && scalar == o.scalar && shape == o.shape;
  }
  bool operator!=(const Type &o) const { return !(*this == o); }

  /// `int`, `float[2, 8]`, `trajectory`, `seq<float>`.
  std::string str() const;
};

const char *spelling(ScalarKind k);

/// The kind of arithmetic on a and b: float when either is float, else int
/// (bools count as 0/1).
inline ScalarKind promote(ScalarKind a, ScalarKind b) {
  if (a == ScalarKind::Float || b == ScalarKind::Float)
    return ScalarKind::Float;
  return ScalarKind::Int;
}

} // namespace gfl

#endif // GFL_FRONTEND_TYPE_H
