//===- Lexer.h - Tokens of .gfl source ---------------------------*- C++ -*-===//

#ifndef GFL_FRONTEND_LEXER_H
#define GFL_FRONTEND_LEXER_H

#include "gfl/Frontend/Diagnostics.h"

#include <string>
#include <string_view>

namespace gfl {

enum class TokenKind {
  Eof,
  Error, // a malformed token; the lexer already reported it
  Identifier,
  IntLiteral,
  FloatLiteral,
  StringLiteral,
  // Reserved words. Words that only matter inside one block (state, action,
  // requires, stop, reward, ...) are plain identifiers matched by the parser.
  KwParam,
  KwEnv,
  KwModel,
  KwObjective,
  KwTrain,
  KwLet,
  KwIf,
  KwElse,
  KwIn,
  KwAnd,
  KwOr,
  KwNot,
  KwTrue,
  KwFalse,
  // Punctuation.
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Comma,
  Colon,
  Semicolon,
  Dot,
  DotDot,
  Arrow,
  Assign,
  PlusAssign,
  MinusAssign,
  StarAssign,
  SlashAssign,
  EqEq,
  NotEq,
  Less,
  LessEq,
  Greater,
  GreaterEq,
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  Caret,
  Tilde,
};

const char *tokenKindName(TokenKind k);

struct Token {
  TokenKind kind = TokenKind::Eof;
  std::string_view text;
  SourceRange range;
  /// True when a line break separates this token from the previous one. The
  /// parser uses it so that an expression does not continue onto a line that
  /// starts with an operator (`let a = b` newline `-c`).
  bool atLineStart = false;
  int64_t intValue = 0;
  double floatValue = 0;
  std::string stringValue;

  bool is(TokenKind k) const { return kind == k; }
  bool isIdent(std::string_view s) const {
    return kind == TokenKind::Identifier && text == s;
  }
};

class Lexer {
public:
  Lexer(const SourceBuffer &buffer, DiagnosticEngine &diags);

  /// Returns the next token; Eof forever at the end.
  Token next();

private:
  char peek(size_t ahead = 0) const;
  SourceLoc loc() const;
  void advance();
  void skipTrivia(bool &sawNewline);
  Token make(TokenKind k, SourceLoc begin);
  Token lexNumber(SourceLoc begin);
  Token lexString(SourceLoc begin);

  std::string_view text_;
  uint16_t file_;
  DiagnosticEngine &diags_;
  size_t pos_ = 0;
  uint32_t line_ = 1, col_ = 1;
};

} // namespace gfl

#endif // GFL_FRONTEND_LEXER_H
