//===- DataFile.cpp - CSV and .npy tables for load() ----------------------===//

#include "gfl/Frontend/DataFile.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace gfl {

namespace {

// The largest file read: a table holds at most kMaxTensorElements values,
// and a CSV value rarely needs more than 32 characters.
constexpr uintmax_t kMaxFileBytes = uintmax_t(64) << 20;
constexpr double kMaxInt32 = 2147483647.0;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

/// One CSV entry; sets `isInt` when it is an integer literal.
std::optional<double> parseNumber(std::string_view text, bool &isInt) {
  std::string s(text);
  if (s.empty())
    return std::nullopt;
  const char *begin = s.c_str();
  char *end = nullptr;
  errno = 0;
  long long i = std::strtoll(begin, &end, 10);
  if (*end == '\0' && errno == 0) {
    isInt = true;
    return static_cast<double>(i);
  }
  errno = 0;
  double d = std::strtod(begin, &end);
  if (*end != '\0' || end == begin)
    return std::nullopt;
  isInt = false;
  return d;
}

std::optional<ConstValue> loadCsv(const std::string &text, std::string &error) {
  std::vector<double> data;
  bool allInts = true;
  int64_t rows = 0, cols = -1;
  std::istringstream in(text);
  std::string line;
  for (int lineNo = 1; std::getline(in, line); ++lineNo) {
    std::string_view l = trim(line);
    if (l.empty() || l.front() == '#')
      continue;
    int64_t n = 0;
    size_t start = 0;
    while (true) {
      size_t comma = l.find(',', start);
      std::string_view field = trim(l.substr(
          start, comma == std::string_view::npos ? comma : comma - start));
      bool isInt = false;
      std::optional<double> v = parseNumber(field, isInt);
      if (!v) {
        error = fmt::format("line {}, column {}: '{}' is not a number", lineNo,
                            n + 1, field);
        return std::nullopt;
      }
      if (!std::isfinite(*v)) {
        error = fmt::format("line {}, column {}: the value is {}", lineNo,
                            n + 1, field);
        return std::nullopt;
      }
      allInts = allInts && isInt;
      data.push_back(*v);
      if (static_cast<int64_t>(data.size()) > kMaxTensorElements) {
        error = fmt::format("more than {} values", kMaxTensorElements);
        return std::nullopt;
      }
      ++n;
      if (comma == std::string_view::npos)
        break;
      start = comma + 1;
    }
    if (cols >= 0 && n != cols) {
      error = fmt::format("line {} has {} values, the rows before it {}",
                          lineNo, n, cols);
      return std::nullopt;
    }
    cols = n;
    ++rows;
  }
  if (rows == 0) {
    error = "the file holds no values";
    return std::nullopt;
  }
  if (allInts)
    for (double v : data)
      if (std::fabs(v) > kMaxInt32) {
        error = fmt::format("the integer {} does not fit a 32-bit int", v);
        return std::nullopt;
      }
  ConstValue out;
  std::vector<int64_t> shape =
      cols == 1 ? std::vector<int64_t>{rows} : std::vector<int64_t>{rows, cols};
  out.type = Type::tensorOf(allInts ? ScalarKind::Int : ScalarKind::Float,
                            std::move(shape));
  if (!allInts)
    for (double &v : data)
      v = static_cast<double>(static_cast<float>(v));
  out.data = std::move(data);
  return out;
}

/// The value of `key` in the header dict of a .npy file (the text after
/// `'key':` up to the next top-level comma), or empty.
std::string npyField(const std::string &header, const std::string &key) {
  size_t at = header.find("'" + key + "'");
  if (at == std::string::npos)
    return {};
  size_t colon = header.find(':', at);
  if (colon == std::string::npos)
    return {};
  size_t end = colon + 1;
  int depth = 0;
  for (; end < header.size(); ++end) {
    char c = header[end];
    if (c == '(')
      ++depth;
    else if (c == ')')
      --depth;
    else if ((c == ',' || c == '}') && depth == 0)
      break;
  }
  return std::string(
      trim(std::string_view(header).substr(colon + 1, end - colon - 1)));
}

std::optional<ConstValue> loadNpy(const std::string &bytes,
                                  std::string &error) {
  static const char magic[] = "\x93NUMPY";
  if (bytes.size() < 10 || bytes.compare(0, 6, magic, 6) != 0) {
    error = "not a NumPy .npy file (bad magic)";
    return std::nullopt;
  }
  unsigned major = static_cast<unsigned char>(bytes[6]);
  size_t headerLen, headerStart;
  auto byteAt = [&](size_t i) {
    return static_cast<size_t>(static_cast<unsigned char>(bytes[i]));
  };
  if (major == 1) {
    headerLen = byteAt(8) | byteAt(9) << 8;
    headerStart = 10;
  } else if ((major == 2 || major == 3) && bytes.size() >= 12) {
    headerLen =
        byteAt(8) | byteAt(9) << 8 | byteAt(10) << 16 | byteAt(11) << 24;
    headerStart = 12;
  } else {
    error = fmt::format("unsupported .npy version {}", major);
    return std::nullopt;
  }
  if (headerStart + headerLen > bytes.size()) {
    error = "the .npy header is truncated";
    return std::nullopt;
  }
  std::string header = bytes.substr(headerStart, headerLen);
  std::string descr = npyField(header, "descr");
  std::string fortran = npyField(header, "fortran_order");
  std::string shapeText = npyField(header, "shape");
  if (descr.size() < 5 || descr.front() != '\'' || descr.back() != '\'' ||
      shapeText.empty() || shapeText.front() != '(') {
    error = "the .npy header has no readable descr and shape";
    return std::nullopt;
  }
  descr = descr.substr(1, descr.size() - 2);
  char order = descr[0], kind = descr[1];
  int width = std::atoi(descr.c_str() + 2);
  bool little = order == '<' || order == '|' || order == '=';
  bool known =
      little && ((kind == 'f' && (width == 4 || width == 8)) ||
                 ((kind == 'i' || kind == 'u') &&
                  (width == 1 || width == 2 || width == 4 || width == 8)) ||
                 (kind == 'b' && width == 1));
  if (!known) {
    error = fmt::format("unsupported .npy element type '{}' (little-endian "
                        "float, int, uint or bool)",
                        descr);
    return std::nullopt;
  }
  std::vector<int64_t> shape;
  std::string dims = shapeText.substr(1, shapeText.find(')') - 1);
  int64_t count = 1;
  for (size_t p = 0; p < dims.size();) {
    size_t comma = dims.find(',', p);
    std::string_view d = trim(std::string_view(dims).substr(
        p, comma == std::string::npos ? std::string::npos : comma - p));
    if (!d.empty()) {
      bool isInt = false;
      std::optional<double> v = parseNumber(d, isInt);
      if (!v || !isInt || *v < 1 || *v > kMaxTensorElements) {
        error = fmt::format("the .npy shape '({})' is not a list of positive "
                            "sizes",
                            dims);
        return std::nullopt;
      }
      shape.push_back(static_cast<int64_t>(*v));
      count *= shape.back();
      if (count > kMaxTensorElements) {
        error = fmt::format("more than {} values", kMaxTensorElements);
        return std::nullopt;
      }
    }
    if (comma == std::string::npos)
      break;
    p = comma + 1;
  }
  if (shape.empty()) {
    error = "a .npy scalar is not a table; write the value as a param";
    return std::nullopt;
  }
  size_t dataStart = headerStart + headerLen;
  if (bytes.size() - dataStart < static_cast<size_t>(count) * width) {
    error = fmt::format("the .npy data holds {} bytes, its shape needs {}",
                        bytes.size() - dataStart, count * width);
    return std::nullopt;
  }
  const char *p = bytes.data() + dataStart;
  std::vector<double> data(count);
  for (int64_t i = 0; i < count; ++i, p += width) {
    double v = 0;
    if (kind == 'f' && width == 4) {
      float f;
      std::memcpy(&f, p, 4);
      v = f;
    } else if (kind == 'f') {
      std::memcpy(&v, p, 8);
    } else if (kind == 'b') {
      v = *p != 0;
    } else {
      uint64_t raw = 0;
      std::memcpy(&raw, p, width);
      if (kind == 'i' && width < 8 && (raw >> (8 * width - 1)) & 1)
        raw |= ~uint64_t(0) << (8 * width); // sign-extend
      v = kind == 'i' ? static_cast<double>(static_cast<int64_t>(raw))
                      : static_cast<double>(raw);
      if (std::fabs(v) > kMaxInt32) {
        error = fmt::format("element {}: the integer {} does not fit a 32-bit "
                            "int",
                            i, v);
        return std::nullopt;
      }
    }
    if (!std::isfinite(v)) {
      error = fmt::format("element {} is {}", i, std::isnan(v) ? "NaN" : "inf");
      return std::nullopt;
    }
    data[i] = kind == 'f' ? static_cast<double>(static_cast<float>(v)) : v;
  }
  if (fortran.rfind("True", 0) == 0 && shape.size() > 1) {
    // Column-major on disk: reorder to row-major.
    std::vector<double> rowMajor(count);
    std::vector<int64_t> index(shape.size(), 0);
    for (int64_t f = 0; f < count; ++f) {
      int64_t r = 0;
      for (size_t d = 0; d < shape.size(); ++d)
        r = r * shape[d] + index[d];
      rowMajor[r] = data[f];
      for (size_t d = 0; d < shape.size() && ++index[d] == shape[d]; ++d)
        index[d] = 0;
    }
    data = std::move(rowMajor);
  }
  ConstValue out;
  out.type = Type::tensorOf(kind == 'f'   ? ScalarKind::Float
                            : kind == 'b' ? ScalarKind::Bool
                                          : ScalarKind::Int,
                            std::move(shape));
  out.data = std::move(data);
  return out;
}

} // namespace

std::optional<ConstValue> loadDataFile(const std::string &path,
                                       std::string &error) {
  std::error_code ec;
  std::filesystem::file_status st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) {
    error = "no such file";
    return std::nullopt;
  }
  if (!std::filesystem::is_regular_file(st)) {
    error = "not a regular file";
    return std::nullopt;
  }
  uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec || size > kMaxFileBytes) {
    error =
        ec ? ec.message()
           : fmt::format("the file is larger than {} MiB", kMaxFileBytes >> 20);
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  bool npy = path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
  return npy ? loadNpy(bytes, error) : loadCsv(bytes, error);
}

} // namespace gfl
