//===- Json.cpp - A small JSON reader for artifact manifests --------------===//

#include "gfl/Runtime/Json.h"

#include <cstdlib>
#include <cstring>

namespace gfl::json {

Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::Bool;
  v.bool_ = b;
  return v;
}
Value Value::number(double d) {
  Value v;
  v.kind_ = Kind::Number;
  v.number_ = d;
  return v;
}
Value Value::string(std::string s) {
  Value v;
  v.kind_ = Kind::String;
  v.string_ = std::move(s);
  return v;
}
Value Value::array(std::vector<Value> a) {
  Value v;
  v.kind_ = Kind::Array;
  v.array_ = std::move(a);
  return v;
}
Value Value::object(std::vector<std::pair<std::string, Value>> o) {
  Value v;
  v.kind_ = Kind::Object;
  v.object_ = std::move(o);
  return v;
}

const Value *Value::get(std::string_view key) const {
  if (kind_ != Kind::Object)
    return nullptr;
  for (const auto &[k, v] : object_)
    if (k == key)
      return &v;
  return nullptr;
}

const Value *Value::at(size_t i) const {
  if (kind_ != Kind::Array || i >= array_.size())
    return nullptr;
  return &array_[i];
}

namespace {

class Parser {
public:
  Parser(std::string_view text, std::string &error)
      : text_(text), error_(error) {}

  std::optional<Value> document() {
    std::optional<Value> v = value(0);
    if (!v)
      return std::nullopt;
    skipSpace();
    if (pos_ != text_.size())
      return fail("trailing characters after the JSON value");
    return v;
  }

private:
  std::nullopt_t fail(const std::string &what) {
    if (error_.empty())
      error_ = what + " at offset " + std::to_string(pos_);
    return std::nullopt;
  }

  void skipSpace() {
    while (pos_ < text_.size() && std::strchr(" \t\r\n", text_[pos_]))
      ++pos_;
  }

  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word)
      return false;
    pos_ += word.size();
    return true;
  }

  std::optional<Value> value(int depth) {
    if (depth > 64)
      return fail("JSON nested too deeply");
    skipSpace();
    if (pos_ >= text_.size())
      return fail("unexpected end of JSON");
    char c = text_[pos_];
    if (c == '{')
      return objectValue(depth);
    if (c == '[')
      return arrayValue(depth);
    if (c == '"') {
      std::optional<std::string> s = stringValue();
      if (!s)
        return std::nullopt;
      return Value::string(std::move(*s));
    }
    if (literal("true"))
      return Value::boolean(true);
    if (literal("false"))
      return Value::boolean(false);
    if (literal("null"))
      return Value();
    if (c == '-' || (c >= '0' && c <= '9'))
      return numberValue();
    return fail("unexpected character in JSON");
  }

  std::optional<Value> numberValue() {
    size_t begin = pos_;
    while (pos_ < text_.size() &&
           std::strchr("+-0123456789.eE", text_[pos_]))
      ++pos_;
    std::string digits(text_.substr(begin, pos_ - begin));
    char *end = nullptr;
    double d = std::strtod(digits.c_str(), &end);
    if (digits.empty() || *end != '\0')
      return fail("malformed number in JSON");
    return Value::number(d);
  }

  std::optional<std::string> stringValue() {
    ++pos_; // opening quote
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (static_cast<unsigned char>(c) < 0x20)
        return fail("control character in JSON string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size())
        break;
      char e = text_[pos_++];
      switch (e) {
      case '"':
      case '\\':
      case '/':
        out += e;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        if (pos_ + 4 > text_.size())
          return fail("truncated \\u escape in JSON");
        unsigned code = std::strtoul(
            std::string(text_.substr(pos_, 4)).c_str(), nullptr, 16);
        pos_ += 4;
        // Manifests are ASCII; other code points are kept as UTF-8.
        if (code < 0x80) {
          out += static_cast<char>(code);
        } else if (code < 0x800) {
          out += static_cast<char>(0xC0 | (code >> 6));
          out += static_cast<char>(0x80 | (code & 0x3F));
        } else {
          out += static_cast<char>(0xE0 | (code >> 12));
          out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (code & 0x3F));
        }
        break;
      }
      default:
        return fail("bad escape in JSON string");
      }
    }
    if (pos_ >= text_.size())
      return fail("unterminated JSON string");
    ++pos_; // closing quote
    return out;
  }

  std::optional<Value> arrayValue(int depth) {
    ++pos_;
    std::vector<Value> items;
    skipSpace();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return Value::array(std::move(items));
    }
    while (true) {
      std::optional<Value> v = value(depth + 1);
      if (!v)
        return std::nullopt;
      items.push_back(std::move(*v));
      skipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        return Value::array(std::move(items));
      }
      return fail("expected ',' or ']' in JSON array");
    }
  }

  std::optional<Value> objectValue(int depth) {
    ++pos_;
    std::vector<std::pair<std::string, Value>> members;
    skipSpace();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return Value::object(std::move(members));
    }
    while (true) {
      skipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"')
        return fail("expected a string key in JSON object");
      std::optional<std::string> key = stringValue();
      if (!key)
        return std::nullopt;
      skipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ':')
        return fail("expected ':' in JSON object");
      ++pos_;
      std::optional<Value> v = value(depth + 1);
      if (!v)
        return std::nullopt;
      members.emplace_back(std::move(*key), std::move(*v));
      skipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        return Value::object(std::move(members));
      }
      return fail("expected ',' or '}' in JSON object");
    }
  }

  std::string_view text_;
  std::string &error_;
  size_t pos_ = 0;
};

} // namespace

std::optional<Value> parse(std::string_view text, std::string &error) {
  error.clear();
  return Parser(text, error).document();
}

} // namespace gfl::json
