//===- AST.cpp - Spellings of AST operators and types ---------------------===//

#include "gfl/Frontend/AST.h"

#include <fmt/format.h>

namespace gfl {

const char *spelling(UnaryOp op) { return op == UnaryOp::Neg ? "-" : "not"; }

const char *spelling(BinaryOp op) {
  switch (op) {
  case BinaryOp::Add:
    return "+";
  case BinaryOp::Sub:
    return "-";
  case BinaryOp::Mul:
    return "*";
  case BinaryOp::Div:
    return "/";
  case BinaryOp::Mod:
    return "%";
  case BinaryOp::Pow:
    return "^";
  case BinaryOp::Eq:
    return "==";
  case BinaryOp::Ne:
    return "!=";
  case BinaryOp::Lt:
    return "<";
  case BinaryOp::Le:
    return "<=";
  case BinaryOp::Gt:
    return ">";
  case BinaryOp::Ge:
    return ">=";
  case BinaryOp::And:
    return "and";
  case BinaryOp::Or:
    return "or";
  }
  return "?";
}

const char *spelling(AssignOp op) {
  switch (op) {
  case AssignOp::Set:
    return "=";
  case AssignOp::Add:
    return "+=";
  case AssignOp::Sub:
    return "-=";
  case AssignOp::Mul:
    return "*=";
  case AssignOp::Div:
    return "/=";
  }
  return "?";
}

const char *spelling(ScalarKind k) {
  switch (k) {
  case ScalarKind::Int:
    return "int";
  case ScalarKind::Float:
    return "float";
  case ScalarKind::Bool:
    return "bool";
  }
  return "?";
}

std::string Type::str() const {
  switch (kind) {
  case TypeKind::Invalid:
    return "<invalid>";
  case TypeKind::Trajectory:
    return "trajectory";
  case TypeKind::Seq:
    return fmt::format("seq<{}>", spelling(scalar));
  case TypeKind::Network:
    return "network";
  case TypeKind::Symbol:
    return "size";
  case TypeKind::Value:
    break;
  }
  if (shape.empty())
    return spelling(scalar);
  return fmt::format("{}[{}]", spelling(scalar), fmt::join(shape, ", "));
}

} // namespace gfl
