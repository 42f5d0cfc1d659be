//===- Lexer.cpp - Tokens of .gfl source ----------------------------------===//

#include "gfl/Frontend/Lexer.h"

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace gfl {

const char *tokenKindName(TokenKind k) {
  switch (k) {
  case TokenKind::Eof:
    return "end of file";
  case TokenKind::Error:
    return "invalid token";
  case TokenKind::Identifier:
    return "identifier";
  case TokenKind::IntLiteral:
    return "integer literal";
  case TokenKind::FloatLiteral:
    return "float literal";
  case TokenKind::StringLiteral:
    return "string literal";
  case TokenKind::KwParam:
    return "'param'";
  case TokenKind::KwEnv:
    return "'env'";
  case TokenKind::KwModel:
    return "'model'";
  case TokenKind::KwObjective:
    return "'objective'";
  case TokenKind::KwTrain:
    return "'train'";
  case TokenKind::KwLet:
    return "'let'";
  case TokenKind::KwIf:
    return "'if'";
  case TokenKind::KwElse:
    return "'else'";
  case TokenKind::KwIn:
    return "'in'";
  case TokenKind::KwAnd:
    return "'and'";
  case TokenKind::KwOr:
    return "'or'";
  case TokenKind::KwNot:
    return "'not'";
  case TokenKind::KwTrue:
    return "'true'";
  case TokenKind::KwFalse:
    return "'false'";
  case TokenKind::LParen:
    return "'('";
  case TokenKind::RParen:
    return "')'";
  case TokenKind::LBracket:
    return "'['";
  case TokenKind::RBracket:
    return "']'";
  case TokenKind::LBrace:
    return "'{'";
  case TokenKind::RBrace:
    return "'}'";
  case TokenKind::Comma:
    return "','";
  case TokenKind::Colon:
    return "':'";
  case TokenKind::Semicolon:
    return "';'";
  case TokenKind::Dot:
    return "'.'";
  case TokenKind::DotDot:
    return "'..'";
  case TokenKind::Arrow:
    return "'->'";
  case TokenKind::Assign:
    return "'='";
  case TokenKind::PlusAssign:
    return "'+='";
  case TokenKind::MinusAssign:
    return "'-='";
  case TokenKind::StarAssign:
    return "'*='";
  case TokenKind::SlashAssign:
    return "'/='";
  case TokenKind::EqEq:
    return "'=='";
  case TokenKind::NotEq:
    return "'!='";
  case TokenKind::Less:
    return "'<'";
  case TokenKind::LessEq:
    return "'<='";
  case TokenKind::Greater:
    return "'>'";
  case TokenKind::GreaterEq:
    return "'>='";
  case TokenKind::Plus:
    return "'+'";
  case TokenKind::Minus:
    return "'-'";
  case TokenKind::Star:
    return "'*'";
  case TokenKind::Slash:
    return "'/'";
  case TokenKind::Percent:
    return "'%'";
  case TokenKind::Caret:
    return "'^'";
  case TokenKind::Tilde:
    return "'~'";
  }
  return "token";
}

Lexer::Lexer(const SourceBuffer &buffer, DiagnosticEngine &diags)
    : text_(buffer.text()), file_(buffer.id()), diags_(diags) {}

char Lexer::peek(size_t ahead) const {
  return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
}

SourceLoc Lexer::loc() const {
  return {static_cast<uint32_t>(pos_), line_, col_, file_};
}

void Lexer::advance() {
  if (pos_ >= text_.size())
    return;
  if (text_[pos_] == '\n') {
    ++line_;
    col_ = 1;
  } else {
    ++col_;
  }
  ++pos_;
}

void Lexer::skipTrivia(bool &sawNewline) {
  while (pos_ < text_.size()) {
    char c = peek();
    if (c == '\n') {
      sawNewline = true;
      advance();
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      advance();
    } else if (c == '/' && peek(1) == '/') {
      while (pos_ < text_.size() && peek() != '\n')
        advance();
    } else if (c == '/' && peek(1) == '*') {
      SourceLoc begin = loc();
      advance();
      advance();
      bool closed = false;
      while (pos_ < text_.size()) {
        if (peek() == '*' && peek(1) == '/') {
          advance();
          advance();
          closed = true;
          break;
        }
        if (peek() == '\n')
          sawNewline = true;
        advance();
      }
      if (!closed)
        diags_.error(SourceRange(begin, {begin.offset + 2, begin.line,
                                         begin.col + 2, file_}),
                     "unterminated block comment");
    } else {
      break;
    }
  }
}

Token Lexer::make(TokenKind k, SourceLoc begin) {
  Token t;
  t.kind = k;
  t.range = SourceRange(begin, loc());
  t.text = text_.substr(begin.offset, pos_ - begin.offset);
  return t;
}

static TokenKind keywordKind(std::string_view s) {
  static const std::pair<const char *, TokenKind> table[] = {
      {"param", TokenKind::KwParam},   {"env", TokenKind::KwEnv},
      {"model", TokenKind::KwModel},   {"objective", TokenKind::KwObjective},
      {"train", TokenKind::KwTrain},   {"let", TokenKind::KwLet},
      {"if", TokenKind::KwIf},         {"else", TokenKind::KwElse},
      {"in", TokenKind::KwIn},         {"and", TokenKind::KwAnd},
      {"or", TokenKind::KwOr},         {"not", TokenKind::KwNot},
      {"true", TokenKind::KwTrue},     {"false", TokenKind::KwFalse},
  };
  for (const auto &[word, kind] : table)
    if (s == word)
      return kind;
  return TokenKind::Identifier;
}

Token Lexer::lexNumber(SourceLoc begin) {
  bool isFloat = false;
  while (std::isdigit(static_cast<unsigned char>(peek())) || peek() == '_')
    advance();
  // `1.5` is a float, `0..H` is an integer followed by `..`.
  if (peek() == '.' && std::isdigit(static_cast<unsigned char>(peek(1)))) {
    isFloat = true;
    advance();
    while (std::isdigit(static_cast<unsigned char>(peek())) || peek() == '_')
      advance();
  }
  if (peek() == 'e' || peek() == 'E') {
    size_t save = 1;
    if (peek(1) == '+' || peek(1) == '-')
      save = 2;
    if (std::isdigit(static_cast<unsigned char>(peek(save)))) {
      isFloat = true;
      for (size_t i = 0; i < save; ++i)
        advance();
      while (std::isdigit(static_cast<unsigned char>(peek())))
        advance();
    }
  }
  // A number glued to letters (`3x`) is a typo, not two tokens.
  if (std::isalpha(static_cast<unsigned char>(peek())) || peek() == '_') {
    while (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '_')
      advance();
    Token t = make(TokenKind::Error, begin);
    diags_.error(t.range, fmt::format("invalid numeric literal '{}'", t.text));
    return t;
  }
  Token t = make(isFloat ? TokenKind::FloatLiteral : TokenKind::IntLiteral,
                 begin);
  std::string digits;
  for (char c : t.text)
    if (c != '_')
      digits += c;
  errno = 0;
  if (isFloat) {
    t.floatValue = std::strtod(digits.c_str(), nullptr);
    if (errno == ERANGE && std::isinf(t.floatValue)) {
      diags_.error(t.range, "float literal is out of range");
      t.kind = TokenKind::Error;
    }
  } else {
    t.intValue = std::strtoll(digits.c_str(), nullptr, 10);
    if (errno == ERANGE) {
      diags_.error(t.range, "integer literal is too large");
      t.kind = TokenKind::Error;
    }
  }
  return t;
}

Token Lexer::lexString(SourceLoc begin) {
  advance(); // opening quote
  std::string value;
  while (pos_ < text_.size() && peek() != '"' && peek() != '\n') {
    if (peek() == '\\' && (peek(1) == '"' || peek(1) == '\\')) {
      advance();
    }
    value += peek();
    advance();
  }
  if (peek() != '"') {
    Token t = make(TokenKind::Error, begin);
    diags_.error(t.range, "unterminated string literal");
    return t;
  }
  advance();
  Token t = make(TokenKind::StringLiteral, begin);
  t.stringValue = std::move(value);
  return t;
}

Token Lexer::next() {
  bool sawNewline = false;
  skipTrivia(sawNewline);
  SourceLoc begin = loc();
  Token t = [&]() -> Token {
    if (pos_ >= text_.size())
      return make(TokenKind::Eof, begin);
    char c = peek();
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      while (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '_')
        advance();
      Token id = make(TokenKind::Identifier, begin);
      id.kind = keywordKind(id.text);
      return id;
    }
    if (std::isdigit(static_cast<unsigned char>(c)))
      return lexNumber(begin);
    if (c == '"')
      return lexString(begin);
    advance();
    auto two = [&](char next, TokenKind yes, TokenKind no) {
      if (peek() == next) {
        advance();
        return make(yes, begin);
      }
      return make(no, begin);
    };
    switch (c) {
    case '(':
      return make(TokenKind::LParen, begin);
    case ')':
      return make(TokenKind::RParen, begin);
    case '[':
      return make(TokenKind::LBracket, begin);
    case ']':
      return make(TokenKind::RBracket, begin);
    case '{':
      return make(TokenKind::LBrace, begin);
    case '}':
      return make(TokenKind::RBrace, begin);
    case ',':
      return make(TokenKind::Comma, begin);
    case ':':
      return make(TokenKind::Colon, begin);
    case ';':
      return make(TokenKind::Semicolon, begin);
    case '.':
      return two('.', TokenKind::DotDot, TokenKind::Dot);
    case '=':
      return two('=', TokenKind::EqEq, TokenKind::Assign);
    case '!':
      if (peek() == '=') {
        advance();
        return make(TokenKind::NotEq, begin);
      }
      break;
    case '<':
      return two('=', TokenKind::LessEq, TokenKind::Less);
    case '>':
      return two('=', TokenKind::GreaterEq, TokenKind::Greater);
    case '+':
      return two('=', TokenKind::PlusAssign, TokenKind::Plus);
    case '-':
      if (peek() == '>') {
        advance();
        return make(TokenKind::Arrow, begin);
      }
      return two('=', TokenKind::MinusAssign, TokenKind::Minus);
    case '*':
      return two('=', TokenKind::StarAssign, TokenKind::Star);
    case '/':
      return two('=', TokenKind::SlashAssign, TokenKind::Slash);
    case '%':
      return make(TokenKind::Percent, begin);
    case '^':
      return make(TokenKind::Caret, begin);
    case '~':
      return make(TokenKind::Tilde, begin);
    default:
      break;
    }
    unsigned char uc = static_cast<unsigned char>(c);
    // A UTF-8 sequence is one character: report it once.
    if (uc >= 0xc0)
      while ((static_cast<unsigned char>(peek()) & 0xc0) == 0x80)
        advance();
    Token bad = make(TokenKind::Error, begin);
    if (std::isprint(uc))
      diags_.error(bad.range, fmt::format("unexpected character '{}'", c));
    else
      diags_.error(bad.range,
                   fmt::format("unexpected character (byte 0x{:02x})", uc));
    return bad;
  }();
  t.atLineStart = sawNewline;
  return t;
}

} // namespace gfl
