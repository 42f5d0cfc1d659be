//===- LexerTest.cpp - Tokens of .gfl source ------------------------------===//

#include "gfl/Frontend/Lexer.h"

#include <gtest/gtest.h>

#include <vector>

using namespace gfl;

namespace {

/// Token texts point into the buffer, so it outlives the returned tokens.
std::vector<Token> lexAll(const std::string &text) {
  static std::unique_ptr<SourceBuffer> buffer;
  buffer = std::make_unique<SourceBuffer>("t.gfl", text);
  DiagnosticEngine diags(*buffer);
  Lexer lexer(*buffer, diags);
  std::vector<Token> toks;
  do {
    toks.push_back(lexer.next());
  } while (!toks.back().is(TokenKind::Eof));
  EXPECT_FALSE(diags.hasErrors());
  return toks;
}

TEST(Lexer, RangeAfterIntegerIsNotAFloat) {
  auto toks = lexAll("0..H 1.5 2e-3 1_000");
  ASSERT_EQ(toks.size(), 7u);
  EXPECT_EQ(toks[0].kind, TokenKind::IntLiteral);
  EXPECT_EQ(toks[1].kind, TokenKind::DotDot);
  EXPECT_EQ(toks[2].kind, TokenKind::Identifier);
  EXPECT_EQ(toks[3].kind, TokenKind::FloatLiteral);
  EXPECT_DOUBLE_EQ(toks[3].floatValue, 1.5);
  EXPECT_EQ(toks[4].kind, TokenKind::FloatLiteral);
  EXPECT_DOUBLE_EQ(toks[4].floatValue, 2e-3);
  EXPECT_EQ(toks[5].kind, TokenKind::IntLiteral);
  EXPECT_EQ(toks[5].intValue, 1000);
}

TEST(Lexer, OperatorsAndKeywords) {
  auto toks = lexAll("x[d] += 1 -> == != <= >= and or not param objective");
  std::vector<TokenKind> kinds;
  for (const Token &t : toks)
    kinds.push_back(t.kind);
  std::vector<TokenKind> expected = {
      TokenKind::Identifier, TokenKind::LBracket,   TokenKind::Identifier,
      TokenKind::RBracket,   TokenKind::PlusAssign, TokenKind::IntLiteral,
      TokenKind::Arrow,      TokenKind::EqEq,       TokenKind::NotEq,
      TokenKind::LessEq,     TokenKind::GreaterEq,  TokenKind::KwAnd,
      TokenKind::KwOr,       TokenKind::KwNot,      TokenKind::KwParam,
      TokenKind::KwObjective, TokenKind::Eof};
  EXPECT_EQ(kinds, expected);
}

TEST(Lexer, LocationsAndLineStarts) {
  auto toks = lexAll("a // comment\n  b /* x\n y */ c");
  ASSERT_EQ(toks.size(), 4u);
  EXPECT_EQ(toks[0].range.begin.line, 1u);
  EXPECT_FALSE(toks[0].atLineStart);
  EXPECT_EQ(toks[1].range.begin.line, 2u);
  EXPECT_EQ(toks[1].range.begin.col, 3u);
  EXPECT_TRUE(toks[1].atLineStart);
  // A newline inside a block comment also starts a new line.
  EXPECT_EQ(toks[2].range.begin.line, 3u);
  EXPECT_TRUE(toks[2].atLineStart);
}

TEST(Lexer, ReportsBadCharactersAndLiterals) {
  SourceBuffer buffer("t.gfl", "a $ 3x 99999999999999999999 \"open");
  DiagnosticEngine diags(buffer);
  Lexer lexer(buffer, diags);
  while (!lexer.next().is(TokenKind::Eof)) {
  }
  ASSERT_EQ(diags.errorCount(), 4u);
  EXPECT_EQ(diags.diagnostics()[0].message, "unexpected character '$'");
  EXPECT_EQ(diags.diagnostics()[1].message, "invalid numeric literal '3x'");
  EXPECT_EQ(diags.diagnostics()[2].message, "integer literal is too large");
  EXPECT_EQ(diags.diagnostics()[3].message, "unterminated string literal");
}

} // namespace
