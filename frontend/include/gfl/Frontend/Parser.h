//===- Parser.h - Recursive-descent parser for .gfl --------------*- C++ -*-===//
//
// Grammar: see docs/language.md. The parser reports every syntax error it can
// recover from (it resynchronizes at the next item or declaration) and never
// returns a null child without having reported an error.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_FRONTEND_PARSER_H
#define GFL_FRONTEND_PARSER_H

#include "gfl/Frontend/AST.h"
#include "gfl/Frontend/Lexer.h"

#include <vector>

namespace gfl {

class Parser {
public:
  Parser(const SourceBuffer &buffer, DiagnosticEngine &diags);

  /// Parses the whole buffer. Check diags.hasErrors() before using the result.
  Program parseProgram();

private:
  // Token stream.
  const Token &tok() const { return toks_[pos_]; }
  const Token &peekTok(size_t ahead = 1) const;
  Token consume();
  bool consumeIf(TokenKind k);
  bool consumeIdent(std::string_view word);
  bool expect(TokenKind k, const char *context);
  bool expectIdent(Ident &out, const char *what);
  SourceLoc prevEnd() const;
  SourceRange rangeFrom(SourceLoc begin) const;
  void errorAtCurrent(const std::string &message);

  // Recovery.
  void skipToItemStart();
  void skipToDeclStart();
  static bool isDeclKeyword(TokenKind k);

  // Declarations.
  std::unique_ptr<Decl> parseDecl();
  std::unique_ptr<Decl> parseParam();
  std::unique_ptr<Decl> parseEnv();
  std::unique_ptr<Decl> parseModel();
  std::unique_ptr<Decl> parseObjective();
  std::unique_ptr<Decl> parseTrain();
  bool parseEnvItem(EnvDecl &env);
  bool parseStateField(EnvDecl &env);
  bool parseAction(EnvDecl &env);
  bool parseCondition(EnvDecl &env);
  bool parseTypeSpec(TypeSpec &out);
  bool parseTrainItem(TrainDecl &train);
  bool parseOverrides(TrainItem &item);
  bool parseSamplerStages(TrainItem &item);

  // Statements.
  bool parseStmtBlock(std::vector<StmtPtr> &out);
  StmtPtr parseStmt();
  StmtPtr parseFor();
  /// `NAME ( "file"`: the file of load(...) or model(...), after the
  /// name and the parenthesis it consumes.
  std::optional<LoadSource> parseQuotedFile(const char *expected);

  // Expressions.
  ExprPtr parseExpr();
  ExprPtr parseExprOrBlock();
  ExprPtr parseBlockExpr();
  ExprPtr parseOr();
  ExprPtr parseAnd();
  ExprPtr parseNot();
  ExprPtr parseComparison();
  ExprPtr parseAdditive();
  ExprPtr parseMultiplicative();
  ExprPtr parseUnary();
  ExprPtr parsePower();
  ExprPtr parsePostfix();
  ExprPtr parsePrimary();
  ExprPtr parseIfExpr();
  ExprPtr parseCallOrReduce(Ident callee);
  ExprPtr parseConfigValue();
  bool parseCallArgs(std::vector<CallArg> &args, TokenKind close);
  bool parseConfigArg(std::vector<CallArg> &args);
  /// True when a binary operator or postfix token may continue the current
  /// expression (it is not the first token of a new line outside brackets).
  bool continues() const;

  const SourceBuffer &buffer_;
  DiagnosticEngine &diags_;
  std::vector<Token> toks_;
  size_t pos_ = 0;
  unsigned groupDepth_ = 0; // open ( and [ inside the current expression
  unsigned nesting_ = 0;    // recursion depth guard
  bool configMode_ = false; // keyword arguments allowed (model, train)
};

} // namespace gfl

#endif // GFL_FRONTEND_PARSER_H
