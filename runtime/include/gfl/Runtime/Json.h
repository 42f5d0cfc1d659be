//===- Json.h - A small JSON reader for artifact manifests ------*- C++ -*-===//
//
// The runtime builds without LLVM (on GPU machines), so it carries its own
// reader for the manifest: RFC 8259 values, a nesting limit, and a one-line
// error for malformed input.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_RUNTIME_JSON_H
#define GFL_RUNTIME_JSON_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gfl::json {

class Value {
public:
  enum class Kind { Null, Bool, Number, String, Array, Object };

  Value() = default;
  static Value boolean(bool b);
  static Value number(double d);
  static Value string(std::string s);
  static Value array(std::vector<Value> a);
  static Value object(std::vector<std::pair<std::string, Value>> o);

  Kind kind() const { return kind_; }
  bool isNull() const { return kind_ == Kind::Null; }
  bool isBool() const { return kind_ == Kind::Bool; }
  bool isNumber() const { return kind_ == Kind::Number; }
  bool isString() const { return kind_ == Kind::String; }
  bool isArray() const { return kind_ == Kind::Array; }
  bool isObject() const { return kind_ == Kind::Object; }

  bool asBool() const { return bool_; }
  double asNumber() const { return number_; }
  int64_t asInt() const { return static_cast<int64_t>(number_); }
  const std::string &asString() const { return string_; }
  const std::vector<Value> &asArray() const { return array_; }
  const std::vector<std::pair<std::string, Value>> &asObject() const {
    return object_;
  }

  /// Member `key` of an object, or nullptr.
  const Value *get(std::string_view key) const;
  /// Element `i` of an array, or nullptr.
  const Value *at(size_t i) const;

private:
  Kind kind_ = Kind::Null;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<Value> array_;
  std::vector<std::pair<std::string, Value>> object_;
};

/// Parses `text`; on failure returns nullopt and sets `error`.
std::optional<Value> parse(std::string_view text, std::string &error);

} // namespace gfl::json

#endif // GFL_RUNTIME_JSON_H
