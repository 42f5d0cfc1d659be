//===- Parser.cpp - Recursive-descent parser for .gfl ---------------------===//

#include "gfl/Frontend/Parser.h"

#include <fmt/format.h>

#include <tuple>

namespace gfl {

namespace {
/// Deeper nesting than this is reported instead of risking the stack.
constexpr unsigned kMaxNesting = 256;

struct NestingGuard {
  unsigned &depth;
  explicit NestingGuard(unsigned &d) : depth(d) { ++depth; }
  ~NestingGuard() { --depth; }
};

/// Counts the operators of a chain built by a loop (`a + b + c`, `x[i][j]`)
/// as nesting: each one adds a level to the tree that later passes recurse
/// through.
struct ChainGuard {
  unsigned &depth;
  unsigned added = 0;
  explicit ChainGuard(unsigned &d) : depth(d) {}
  ~ChainGuard() { depth -= added; }
  /// Adds a level; false once the nesting limit is exceeded.
  bool extend() {
    ++depth;
    ++added;
    return depth <= kMaxNesting;
  }
};
} // namespace

Parser::Parser(const SourceBuffer &buffer, DiagnosticEngine &diags)
    : buffer_(buffer), diags_(diags) {
  Lexer lexer(buffer, diags);
  // Invalid tokens stay in the stream (the lexer reported them) so that the
  // parser stops at them instead of misreading the tokens around them.
  while (true) {
    toks_.push_back(lexer.next());
    if (toks_.back().is(TokenKind::Eof))
      break;
  }
}

//===----------------------------------------------------------------------===//
// Token helpers
//===----------------------------------------------------------------------===//

const Token &Parser::peekTok(size_t ahead) const {
  size_t i = pos_ + ahead;
  return i < toks_.size() ? toks_[i] : toks_.back();
}

Token Parser::consume() {
  Token t = toks_[pos_];
  if (pos_ + 1 < toks_.size())
    ++pos_;
  return t;
}

bool Parser::consumeIf(TokenKind k) {
  if (!tok().is(k))
    return false;
  consume();
  return true;
}

bool Parser::consumeIdent(std::string_view word) {
  if (!tok().isIdent(word))
    return false;
  consume();
  return true;
}

static std::string describe(const Token &t) {
  switch (t.kind) {
  case TokenKind::Identifier:
    return fmt::format("identifier '{}'", t.text);
  case TokenKind::IntLiteral:
  case TokenKind::FloatLiteral:
    return fmt::format("'{}'", t.text);
  case TokenKind::StringLiteral:
    return "string literal";
  default:
    return tokenKindName(t.kind);
  }
}

void Parser::errorAtCurrent(const std::string &message) {
  // An invalid token was already reported by the lexer.
  if (tok().is(TokenKind::Error))
    return;
  diags_.error(tok().range, message);
}

bool Parser::expect(TokenKind k, const char *context) {
  if (consumeIf(k))
    return true;
  errorAtCurrent(fmt::format("expected {} {}, found {}", tokenKindName(k),
                             context, describe(tok())));
  return false;
}

bool Parser::expectIdent(Ident &out, const char *what) {
  if (!tok().is(TokenKind::Identifier)) {
    errorAtCurrent(fmt::format("expected {}, found {}", what, describe(tok())));
    return false;
  }
  out.name = std::string(tok().text);
  out.range = tok().range;
  consume();
  return true;
}

SourceLoc Parser::prevEnd() const {
  if (pos_ == 0)
    return toks_[0].range.begin;
  return toks_[pos_ - 1].range.end;
}

SourceRange Parser::rangeFrom(SourceLoc begin) const {
  return SourceRange(begin, prevEnd());
}

bool Parser::continues() const {
  return groupDepth_ > 0 || !tok().atLineStart;
}

bool Parser::isDeclKeyword(TokenKind k) {
  return k == TokenKind::KwParam || k == TokenKind::KwEnv ||
         k == TokenKind::KwModel || k == TokenKind::KwObjective ||
         k == TokenKind::KwTrain;
}

/// Skips to the first token of the next line inside the current block, to
/// the block's closing brace, or to the next declaration.
void Parser::skipToItemStart() {
  int depth = 0;
  size_t start = pos_;
  while (!tok().is(TokenKind::Eof)) {
    if (pos_ != start && depth == 0 && tok().atLineStart)
      return;
    if (isDeclKeyword(tok().kind) && tok().atLineStart)
      return;
    if (tok().is(TokenKind::LBrace) || tok().is(TokenKind::LParen) ||
        tok().is(TokenKind::LBracket))
      ++depth;
    if (tok().is(TokenKind::RBrace) || tok().is(TokenKind::RParen) ||
        tok().is(TokenKind::RBracket)) {
      if (depth == 0 && tok().is(TokenKind::RBrace))
        return;
      if (depth > 0)
        --depth;
    }
    consume();
  }
}

void Parser::skipToDeclStart() {
  size_t start = pos_;
  while (!tok().is(TokenKind::Eof)) {
    // A declaration keyword that starts a line begins the next declaration
    // even when the error was reported at it (`param A = 1 +` newline
    // `param B = 2`).
    if (isDeclKeyword(tok().kind) && (pos_ != start || tok().atLineStart))
      return;
    consume();
  }
}

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

Program Parser::parseProgram() {
  Program program;
  while (!tok().is(TokenKind::Eof) && !diags_.tooManyErrors()) {
    size_t before = pos_;
    unsigned errorsBefore = diags_.errorCount();
    std::unique_ptr<Decl> d = parseDecl();
    if (d && diags_.errorCount() == errorsBefore)
      program.decls.push_back(std::move(d));
    else
      skipToDeclStart(); // also after an error at an invalid token
    if (pos_ == before)
      consume();
  }
  return program;
}

std::unique_ptr<Decl> Parser::parseDecl() {
  switch (tok().kind) {
  case TokenKind::KwParam:
    return parseParam();
  case TokenKind::KwEnv:
    return parseEnv();
  case TokenKind::KwModel:
    return parseModel();
  case TokenKind::KwObjective:
    return parseObjective();
  case TokenKind::KwTrain:
    return parseTrain();
  default:
    errorAtCurrent(fmt::format("expected a declaration ('param', 'env', "
                               "'model', 'objective' or 'train'), found {}",
                               describe(tok())));
    return nullptr;
  }
}

std::unique_ptr<Decl> Parser::parseParam() {
  SourceLoc begin = consume().range.begin;
  Ident name;
  if (!expectIdent(name, "a parameter name after 'param'"))
    return nullptr;
  std::optional<TypeSpec> type;
  if (consumeIf(TokenKind::Colon)) {
    type.emplace();
    if (!parseTypeSpec(*type))
      return nullptr;
  }
  if (!expect(TokenKind::Assign, "after the parameter name"))
    return nullptr;
  // load("path"): `load` is a word only here.
  if (tok().isIdent("load") && peekTok().is(TokenKind::LParen)) {
    std::optional<LoadSource> file =
        parseQuotedFile("a file name in quotes in 'load(...)'");
    if (!file || !expect(TokenKind::RParen, "to close 'load(...)'"))
      return nullptr;
    auto decl =
        std::make_unique<ParamDecl>(std::move(name), nullptr, rangeFrom(begin));
    decl->type = std::move(type);
    decl->load = std::move(file);
    return decl;
  }
  ExprPtr value = parseExpr();
  if (!value)
    return nullptr;
  auto decl = std::make_unique<ParamDecl>(std::move(name), std::move(value),
                                          rangeFrom(begin));
  decl->type = std::move(type);
  return decl;
}

std::optional<LoadSource> Parser::parseQuotedFile(const char *expected) {
  consume(); // load, model
  consume(); // (
  if (!tok().is(TokenKind::StringLiteral)) {
    errorAtCurrent(
        fmt::format("expected {}, found {}", expected, describe(tok())));
    return std::nullopt;
  }
  Token file = consume();
  return LoadSource{file.stringValue, file.range};
}

std::unique_ptr<Decl> Parser::parseEnv() {
  SourceLoc begin = consume().range.begin;
  Ident name;
  if (!expectIdent(name, "an environment name after 'env'") ||
      !expect(TokenKind::LBrace, "to open the environment body"))
    return nullptr;
  auto env = std::make_unique<EnvDecl>(std::move(name), SourceRange());
  bool ok = true;
  while (!tok().is(TokenKind::RBrace) && !tok().is(TokenKind::Eof) &&
         !diags_.tooManyErrors()) {
    if (isDeclKeyword(tok().kind) && tok().atLineStart)
      break;
    size_t before = pos_;
    if (!parseEnvItem(*env)) {
      ok = false;
      skipToItemStart();
    }
    if (pos_ == before)
      consume();
  }
  if (!expect(TokenKind::RBrace, "to close the environment body"))
    return nullptr;
  env->range = rangeFrom(begin);
  return ok ? std::move(env) : nullptr;
}

bool Parser::parseEnvItem(EnvDecl &env) {
  if (consumeIf(TokenKind::Semicolon))
    return true;
  const Token &t = tok();
  if (t.isIdent("state"))
    return parseStateField(env);
  if (t.isIdent("action"))
    return parseAction(env);
  SourceLoc begin = t.range.begin;
  if (t.isIdent("stop")) {
    consume();
    StopDecl stop;
    if (consumeIdent("requires")) {
      stop.guard = parseExpr();
      if (!stop.guard)
        return false;
    }
    stop.range = rangeFrom(begin);
    if (env.stop) {
      diags_.error(stop.range, "duplicate 'stop' in environment");
      diags_.note(env.stop->range, "previous 'stop' is here");
      return false;
    }
    env.stop = std::move(stop);
    return true;
  }
  if (t.isIdent("terminal")) {
    consume();
    if (!tok().isIdent("when")) {
      errorAtCurrent(fmt::format("expected 'when' after 'terminal', found {}",
                                 describe(tok())));
      return false;
    }
    consume();
    ExprPtr cond = parseExpr();
    if (!cond)
      return false;
    if (env.terminal) {
      diags_.error(rangeFrom(begin), "duplicate 'terminal when' in environment");
      diags_.note(env.terminalRange, "previous 'terminal when' is here");
      return false;
    }
    env.terminal = std::move(cond);
    env.terminalRange = rangeFrom(begin);
    return true;
  }
  if (t.isIdent("reward") || t.isIdent("log_reward")) {
    bool isLog = t.isIdent("log_reward");
    consume();
    std::optional<LoadSource> model;
    ExprPtr value;
    if (tok().is(TokenKind::KwModel) && peekTok().is(TokenKind::LParen)) {
      // reward model("file", input EXPR); `input` is a word only here.
      model = parseQuotedFile(
          "the file of a TorchScript module in quotes in 'model(...)'");
      if (!model || !expect(TokenKind::Comma, "after the model's file"))
        return false;
      if (!tok().isIdent("input")) {
        errorAtCurrent(fmt::format("expected 'input EXPR', the model's input "
                                   "for a state, found {}",
                                   describe(tok())));
        return false;
      }
      consume();
      ++groupDepth_;
      value = parseExpr();
      --groupDepth_;
      if (!value || !expect(TokenKind::RParen, "to close 'model(...)'"))
        return false;
    } else {
      value = parseExprOrBlock();
    }
    if (!value)
      return false;
    if (env.reward) {
      diags_.error(rangeFrom(begin), "environment already has a reward");
      diags_.note(env.rewardRange, "previous reward is here");
      return false;
    }
    env.reward = std::move(value);
    env.rewardIsLog = isLog;
    env.rewardModel = std::move(model);
    env.rewardRange = rangeFrom(begin);
    return true;
  }
  // Items written at most once, holding one expression or block.
  for (auto [name, slot, range] :
       {std::tuple{"step_reward", &env.stepReward, &env.stepRewardRange},
        std::tuple{"features", &env.features, &env.featuresRange}}) {
    if (!t.isIdent(name))
      continue;
    consume();
    ExprPtr value = parseExprOrBlock();
    if (!value)
      return false;
    if (*slot) {
      diags_.error(rangeFrom(begin),
                   fmt::format("duplicate '{}' in environment", name));
      diags_.note(*range, fmt::format("previous '{}' is here", name));
      return false;
    }
    *slot = std::move(value);
    *range = rangeFrom(begin);
    return true;
  }
  if (t.isIdent("condition"))
    return parseCondition(env);
  errorAtCurrent(fmt::format(
      "expected an environment item ('state', 'condition', 'action', 'stop', "
      "'terminal', 'reward', 'log_reward', 'step_reward' or 'features'), "
      "found {}",
      describe(t)));
  return false;
}

bool Parser::parseTypeSpec(TypeSpec &out) {
  SourceLoc begin = tok().range.begin;
  if (!expectIdent(out.base, "a type ('int', 'float', 'bool' or 'trajectory')"))
    return false;
  if (tok().is(TokenKind::LBracket) && continues()) {
    consume();
    ++groupDepth_;
    do {
      ExprPtr dim = parseExpr();
      if (!dim) {
        --groupDepth_;
        return false;
      }
      out.dims.push_back(std::move(dim));
    } while (consumeIf(TokenKind::Comma));
    --groupDepth_;
    if (!expect(TokenKind::RBracket, "to close the shape"))
      return false;
  }
  out.range = rangeFrom(begin);
  return true;
}

bool Parser::parseStateField(EnvDecl &env) {
  SourceLoc begin = consume().range.begin;
  StateField f;
  if (!expectIdent(f.name, "a state field name after 'state'") ||
      !expect(TokenKind::Colon, "after the state field name") ||
      !parseTypeSpec(f.type))
    return false;
  if (consumeIf(TokenKind::KwIn)) {
    f.lo = parseExpr();
    if (!f.lo || !expect(TokenKind::DotDot, "in the domain 'lo..hi'"))
      return false;
    f.hi = parseExpr();
    if (!f.hi)
      return false;
  }
  if (consumeIf(TokenKind::Assign)) {
    f.init = parseExpr();
    if (!f.init)
      return false;
  }
  f.range = rangeFrom(begin);
  env.states.push_back(std::move(f));
  return true;
}

/// `condition NAME (: TYPE)? ~ DISTRIBUTION(ARGS) (= VALUE)?`
bool Parser::parseCondition(EnvDecl &env) {
  SourceLoc begin = consume().range.begin;
  ConditionDecl c;
  if (!expectIdent(c.name, "a condition name after 'condition'"))
    return false;
  if (consumeIf(TokenKind::Colon)) {
    TypeSpec t;
    if (!parseTypeSpec(t))
      return false;
    c.type = std::move(t);
  }
  if (!expect(TokenKind::Tilde, "and a distribution after the condition name "
                                "('~ uniform(lo, hi)')"))
    return false;
  c.distribution = parseExpr();
  if (!c.distribution)
    return false;
  if (consumeIf(TokenKind::Assign)) {
    c.value = parseExpr();
    if (!c.value)
      return false;
  }
  c.range = rangeFrom(begin);
  env.conditions.push_back(std::move(c));
  return true;
}

bool Parser::parseAction(EnvDecl &env) {
  SourceLoc begin = consume().range.begin;
  ActionDecl a;
  if (!expectIdent(a.name, "an action name after 'action'"))
    return false;
  if (consumeIf(TokenKind::LParen)) {
    if (!tok().is(TokenKind::RParen)) {
      do {
        ActionParam p;
        SourceLoc pbegin = tok().range.begin;
        if (!expectIdent(p.name, "an action parameter name") ||
            !expect(TokenKind::Colon, "after the action parameter name"))
          return false;
        ++groupDepth_;
        p.lo = parseExpr();
        bool ok = p.lo && expect(TokenKind::DotDot, "in the range 'lo..hi'");
        if (ok)
          p.hi = parseExpr();
        --groupDepth_;
        if (!ok || !p.hi)
          return false;
        p.range = rangeFrom(pbegin);
        a.params.push_back(std::move(p));
      } while (consumeIf(TokenKind::Comma));
    }
    if (!expect(TokenKind::RParen, "to close the action parameters"))
      return false;
  }
  if (consumeIdent("requires")) {
    a.guard = parseExpr();
    if (!a.guard)
      return false;
  }
  if (!parseStmtBlock(a.body))
    return false;
  if (consumeIdent("undo")) {
    a.hasUndo = true;
    if (!parseStmtBlock(a.undo))
      return false;
  }
  a.range = rangeFrom(begin);
  env.actions.push_back(std::move(a));
  return true;
}

std::unique_ptr<Decl> Parser::parseModel() {
  SourceLoc begin = consume().range.begin;
  if (!expect(TokenKind::LBrace, "after 'model'"))
    return nullptr;
  auto model = std::make_unique<ModelDecl>(SourceRange());
  bool ok = true;
  while (!tok().is(TokenKind::RBrace) && !tok().is(TokenKind::Eof) &&
         !diags_.tooManyErrors()) {
    if (isDeclKeyword(tok().kind) && tok().atLineStart)
      break;
    size_t before = pos_;
    if (consumeIf(TokenKind::Semicolon))
      continue;
    NetDecl net;
    SourceLoc nbegin = tok().range.begin;
    if (expectIdent(net.name, "a network name") &&
        expect(TokenKind::Assign, "after the network name")) {
      net.def = parseConfigValue();
    }
    if (!net.def) {
      ok = false;
      skipToItemStart();
    } else {
      net.range = rangeFrom(nbegin);
      model->nets.push_back(std::move(net));
    }
    if (pos_ == before)
      consume();
  }
  if (!expect(TokenKind::RBrace, "to close the model block"))
    return nullptr;
  model->range = rangeFrom(begin);
  return ok ? std::move(model) : nullptr;
}

std::unique_ptr<Decl> Parser::parseObjective() {
  SourceLoc begin = consume().range.begin;
  Ident name;
  if (!expectIdent(name, "an objective name after 'objective'") ||
      !expect(TokenKind::LParen, "after the objective name"))
    return nullptr;
  auto obj = std::make_unique<ObjectiveDecl>(std::move(name), SourceRange());
  if (!tok().is(TokenKind::RParen)) {
    do {
      ObjParam p;
      SourceLoc pbegin = tok().range.begin;
      if (!expectIdent(p.name, "an objective parameter name") ||
          !expect(TokenKind::Colon, "after the objective parameter name") ||
          !parseTypeSpec(p.type))
        return nullptr;
      if (consumeIf(TokenKind::Assign)) {
        ++groupDepth_;
        p.defaultValue = parseExpr();
        --groupDepth_;
        if (!p.defaultValue)
          return nullptr;
      }
      p.range = rangeFrom(pbegin);
      obj->params.push_back(std::move(p));
    } while (consumeIf(TokenKind::Comma));
  }
  if (!expect(TokenKind::RParen, "to close the objective parameters"))
    return nullptr;
  if (tok().is(TokenKind::LBrace)) {
    obj->body = parseBlockExpr();
  } else {
    if (!expect(TokenKind::Assign, "or '{' before the objective body"))
      return nullptr;
    obj->body = parseExpr();
  }
  if (!obj->body)
    return nullptr;
  obj->range = rangeFrom(begin);
  return obj;
}

std::unique_ptr<Decl> Parser::parseTrain() {
  SourceLoc begin = consume().range.begin;
  if (!expect(TokenKind::LBrace, "after 'train'"))
    return nullptr;
  auto train = std::make_unique<TrainDecl>(SourceRange());
  bool ok = true;
  while (!tok().is(TokenKind::RBrace) && !tok().is(TokenKind::Eof) &&
         !diags_.tooManyErrors()) {
    // Inside `train`, `objective NAME` is a setting, not a declaration.
    if (isDeclKeyword(tok().kind) && tok().atLineStart &&
        !tok().is(TokenKind::KwObjective))
      break;
    size_t before = pos_;
    if (consumeIf(TokenKind::Semicolon))
      continue;
    if (!parseTrainItem(*train)) {
      ok = false;
      skipToItemStart();
    }
    if (pos_ == before)
      consume();
  }
  if (!expect(TokenKind::RBrace, "to close the train block"))
    return nullptr;
  train->range = rangeFrom(begin);
  return ok ? std::move(train) : nullptr;
}

bool Parser::parseTrainItem(TrainDecl &train) {
  SourceLoc begin = tok().range.begin;
  TrainItem item;
  // `objective` is a reserved word but also the name of a train setting.
  if (tok().is(TokenKind::KwObjective)) {
    item.key = {std::string(tok().text), tok().range};
    consume();
  } else if (!expectIdent(item.key, "a training setting name")) {
    return false;
  }
  if (item.key.name == "eval" && tok().isIdent("every")) {
    consume();
    item.kind = TrainItemKind::EvalEvery;
    item.value = parseExpr();
    if (!item.value || !expect(TokenKind::Colon, "after the evaluation period"))
      return false;
    do {
      Ident metric;
      if (!expectIdent(metric, "a metric name"))
        return false;
      item.metrics.push_back(std::move(metric));
    } while (consumeIf(TokenKind::Comma));
  } else if (item.key.name == "sampler" && tok().is(TokenKind::LBrace) &&
             !tok().atLineStart) {
    item.kind = TrainItemKind::Value;
    if (!parseSamplerStages(item))
      return false;
  } else {
    item.kind = TrainItemKind::Value;
    if (tok().atLineStart || tok().is(TokenKind::RBrace)) {
      diags_.error(item.key.range,
                   fmt::format("expected a value for '{}'", item.key.name));
      return false;
    }
    item.value = parseConfigValue();
    if (!item.value)
      return false;
    if (tok().is(TokenKind::LBrace) && !tok().atLineStart &&
        !parseOverrides(item))
      return false;
  }
  item.range = rangeFrom(begin);
  train.items.push_back(std::move(item));
  return true;
}

/// `{ stage(options) ... }`, one stage per line (or separated by `;`).
bool Parser::parseSamplerStages(TrainItem &item) {
  SourceLoc open = consume().range.begin; // {
  while (!tok().is(TokenKind::RBrace) && !tok().is(TokenKind::Eof)) {
    if (consumeIf(TokenKind::Semicolon) || consumeIf(TokenKind::Comma))
      continue;
    ExprPtr stage = parseConfigValue();
    if (!stage)
      return false;
    item.stages.push_back(std::move(stage));
  }
  if (!expect(TokenKind::RBrace, "to close the sampler stages"))
    return false;
  if (item.stages.empty()) {
    diags_.error(SourceRange(open), "a sampler needs at least one stage such "
                                    "as 'on_policy(epsilon 0.1)'");
    return false;
  }
  return true;
}

/// `{ group: key value, key value; group2: key value }`
bool Parser::parseOverrides(TrainItem &item) {
  consume(); // {
  bool saveConfig = configMode_;
  configMode_ = true;
  bool ok = true;
  while (ok && !tok().is(TokenKind::RBrace) && !tok().is(TokenKind::Eof)) {
    if (consumeIf(TokenKind::Semicolon) || consumeIf(TokenKind::Comma))
      continue;
    GroupOverride g;
    SourceLoc begin = tok().range.begin;
    if (!expectIdent(g.group, "a parameter group name") ||
        !expect(TokenKind::Colon, "after the parameter group name")) {
      ok = false;
      break;
    }
    do {
      if (!parseConfigArg(g.args)) {
        ok = false;
        break;
      }
      // A comma followed by `name:` starts the next group.
    } while (tok().is(TokenKind::Comma) &&
             !(peekTok().is(TokenKind::Identifier) &&
               peekTok(2).is(TokenKind::Colon)) &&
             consumeIf(TokenKind::Comma));
    g.range = rangeFrom(begin);
    item.overrides.push_back(std::move(g));
  }
  configMode_ = saveConfig;
  return ok && expect(TokenKind::RBrace, "to close the group overrides");
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

bool Parser::parseStmtBlock(std::vector<StmtPtr> &out) {
  if (!expect(TokenKind::LBrace, "to open a statement block"))
    return false;
  unsigned saveGroup = groupDepth_;
  groupDepth_ = 0;
  bool ok = true;
  while (!tok().is(TokenKind::RBrace) && !tok().is(TokenKind::Eof)) {
    if (consumeIf(TokenKind::Semicolon))
      continue;
    StmtPtr s = parseStmt();
    if (!s) {
      ok = false;
      break;
    }
    out.push_back(std::move(s));
  }
  groupDepth_ = saveGroup;
  return ok && expect(TokenKind::RBrace, "to close the statement block");
}

StmtPtr Parser::parseStmt() {
  SourceLoc begin = tok().range.begin;
  if (consumeIf(TokenKind::KwLet)) {
    Let let;
    if (!expectIdent(let.name, "a name after 'let'") ||
        !expect(TokenKind::Assign, "after the 'let' name"))
      return nullptr;
    let.value = parseExpr();
    if (!let.value)
      return nullptr;
    let.range = rangeFrom(begin);
    return std::make_unique<LetStmt>(std::move(let));
  }
  if (tok().is(TokenKind::KwIf)) {
    // Statements nest through 'if' blocks and 'else if' chains. Checked
    // before the condition, which is parsed one level deeper.
    NestingGuard guard(nesting_);
    if (nesting_ >= kMaxNesting) {
      errorAtCurrent("statements are nested too deeply");
      return nullptr;
    }
    consume();
    ExprPtr cond = parseExpr();
    std::vector<StmtPtr> thenBody, elseBody;
    if (!cond || !parseStmtBlock(thenBody))
      return nullptr;
    if (consumeIf(TokenKind::KwElse)) {
      if (tok().is(TokenKind::KwIf)) {
        StmtPtr nested = parseStmt();
        if (!nested)
          return nullptr;
        elseBody.push_back(std::move(nested));
      } else if (!parseStmtBlock(elseBody)) {
        return nullptr;
      }
    }
    return std::make_unique<IfStmt>(std::move(cond), std::move(thenBody),
                                    std::move(elseBody), rangeFrom(begin));
  }
  // `for` is a word only here, where `for NAME in` cannot start anything
  // else, so it stays usable as a name.
  if (tok().isIdent("for") && peekTok().is(TokenKind::Identifier) &&
      peekTok(2).is(TokenKind::KwIn))
    return parseFor();
  ExprPtr target = parsePostfix();
  if (!target)
    return nullptr;
  AssignOp op;
  switch (tok().kind) {
  case TokenKind::Assign:
    op = AssignOp::Set;
    break;
  case TokenKind::PlusAssign:
    op = AssignOp::Add;
    break;
  case TokenKind::MinusAssign:
    op = AssignOp::Sub;
    break;
  case TokenKind::StarAssign:
    op = AssignOp::Mul;
    break;
  case TokenKind::SlashAssign:
    op = AssignOp::Div;
    break;
  default:
    errorAtCurrent(fmt::format("expected an assignment ('=', '+=', '-=', "
                               "'*=' or '/='), found {}",
                               describe(tok())));
    return nullptr;
  }
  consume();
  ExprPtr value = parseExpr();
  if (!value)
    return nullptr;
  return std::make_unique<AssignStmt>(std::move(target), op, std::move(value),
                                      rangeFrom(begin));
}

StmtPtr Parser::parseFor() {
  SourceLoc begin = tok().range.begin;
  NestingGuard guard(nesting_);
  if (nesting_ >= kMaxNesting) {
    errorAtCurrent("statements are nested too deeply");
    return nullptr;
  }
  consume(); // for
  ReduceIter it;
  if (!expectIdent(it.name, "a loop index after 'for'") ||
      !expect(TokenKind::KwIn, "after the loop index"))
    return nullptr;
  it.lo = parseExpr();
  if (!it.lo || !expect(TokenKind::DotDot, "in the loop range 'lo..hi'"))
    return nullptr;
  it.hi = parseExpr();
  std::vector<StmtPtr> body;
  if (!it.hi || !parseStmtBlock(body))
    return nullptr;
  return std::make_unique<ForStmt>(std::move(it), std::move(body),
                                   rangeFrom(begin));
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

ExprPtr Parser::parseExpr() {
  NestingGuard guard(nesting_);
  if (nesting_ > kMaxNesting) {
    errorAtCurrent("expression is nested too deeply");
    return nullptr;
  }
  return parseOr();
}

ExprPtr Parser::parseExprOrBlock() {
  if (tok().is(TokenKind::LBrace))
    return parseBlockExpr();
  return parseExpr();
}

ExprPtr Parser::parseBlockExpr() {
  SourceLoc begin = tok().range.begin;
  if (!expect(TokenKind::LBrace, "to open a block"))
    return nullptr;
  NestingGuard guard(nesting_);
  if (nesting_ > kMaxNesting) {
    errorAtCurrent("blocks are nested too deeply");
    return nullptr;
  }
  unsigned saveGroup = groupDepth_;
  groupDepth_ = 0;
  std::vector<Let> lets;
  ExprPtr result;
  while (true) {
    while (consumeIf(TokenKind::Semicolon)) {
    }
    if (tok().is(TokenKind::KwLet)) {
      SourceLoc lbegin = consume().range.begin;
      Let let;
      if (!expectIdent(let.name, "a name after 'let'") ||
          !expect(TokenKind::Assign, "after the 'let' name"))
        break;
      let.value = parseExpr();
      if (!let.value)
        break;
      let.range = rangeFrom(lbegin);
      lets.push_back(std::move(let));
      continue;
    }
    if (tok().is(TokenKind::RBrace)) {
      errorAtCurrent("expected an expression: a block ends with its value");
      break;
    }
    result = parseExpr();
    while (result && consumeIf(TokenKind::Semicolon)) {
    }
    break;
  }
  groupDepth_ = saveGroup;
  if (!result || !expect(TokenKind::RBrace, "to close the block"))
    return nullptr;
  return std::make_unique<BlockExpr>(std::move(lets), std::move(result),
                                     rangeFrom(begin));
}

ExprPtr Parser::parseOr() {
  ExprPtr lhs = parseAnd();
  ChainGuard chain(nesting_);
  while (lhs && tok().is(TokenKind::KwOr) && continues()) {
    if (!chain.extend()) {
      errorAtCurrent("expression is nested too deeply");
      return nullptr;
    }
    SourceRange opR = consume().range;
    ExprPtr rhs = parseAnd();
    if (!rhs)
      return nullptr;
    SourceRange r = SourceRange::merge(lhs->range, rhs->range);
    lhs = std::make_unique<BinaryExpr>(BinaryOp::Or, opR, std::move(lhs),
                                       std::move(rhs), r);
  }
  return lhs;
}

ExprPtr Parser::parseAnd() {
  ExprPtr lhs = parseNot();
  ChainGuard chain(nesting_);
  while (lhs && tok().is(TokenKind::KwAnd) && continues()) {
    if (!chain.extend()) {
      errorAtCurrent("expression is nested too deeply");
      return nullptr;
    }
    SourceRange opR = consume().range;
    ExprPtr rhs = parseNot();
    if (!rhs)
      return nullptr;
    SourceRange r = SourceRange::merge(lhs->range, rhs->range);
    lhs = std::make_unique<BinaryExpr>(BinaryOp::And, opR, std::move(lhs),
                                       std::move(rhs), r);
  }
  return lhs;
}

ExprPtr Parser::parseNot() {
  if (tok().is(TokenKind::KwNot)) {
    NestingGuard guard(nesting_);
    if (nesting_ > kMaxNesting) {
      errorAtCurrent("expression is nested too deeply");
      return nullptr;
    }
    SourceLoc begin = consume().range.begin;
    ExprPtr operand = parseNot();
    if (!operand)
      return nullptr;
    return std::make_unique<UnaryExpr>(UnaryOp::Not, std::move(operand),
                                       rangeFrom(begin));
  }
  return parseComparison();
}

static bool comparisonOp(TokenKind k, BinaryOp &op) {
  switch (k) {
  case TokenKind::EqEq:
    op = BinaryOp::Eq;
    return true;
  case TokenKind::NotEq:
    op = BinaryOp::Ne;
    return true;
  case TokenKind::Less:
    op = BinaryOp::Lt;
    return true;
  case TokenKind::LessEq:
    op = BinaryOp::Le;
    return true;
  case TokenKind::Greater:
    op = BinaryOp::Gt;
    return true;
  case TokenKind::GreaterEq:
    op = BinaryOp::Ge;
    return true;
  default:
    return false;
  }
}

ExprPtr Parser::parseComparison() {
  ExprPtr lhs = parseAdditive();
  BinaryOp op;
  if (!lhs || !comparisonOp(tok().kind, op) || !continues())
    return lhs;
  SourceRange opR = consume().range;
  ExprPtr rhs = parseAdditive();
  if (!rhs)
    return nullptr;
  BinaryOp next;
  if (comparisonOp(tok().kind, next) && continues()) {
    errorAtCurrent("comparisons cannot be chained; combine them with 'and'");
    return nullptr;
  }
  SourceRange r = SourceRange::merge(lhs->range, rhs->range);
  return std::make_unique<BinaryExpr>(op, opR, std::move(lhs), std::move(rhs),
                                      r);
}

ExprPtr Parser::parseAdditive() {
  ExprPtr lhs = parseMultiplicative();
  ChainGuard chain(nesting_);
  while (lhs && (tok().is(TokenKind::Plus) || tok().is(TokenKind::Minus)) &&
         continues()) {
    if (!chain.extend()) {
      errorAtCurrent("expression is nested too deeply");
      return nullptr;
    }
    BinaryOp op = tok().is(TokenKind::Plus) ? BinaryOp::Add : BinaryOp::Sub;
    SourceRange opR = consume().range;
    ExprPtr rhs = parseMultiplicative();
    if (!rhs)
      return nullptr;
    SourceRange r = SourceRange::merge(lhs->range, rhs->range);
    lhs = std::make_unique<BinaryExpr>(op, opR, std::move(lhs), std::move(rhs),
                                       r);
  }
  return lhs;
}

ExprPtr Parser::parseMultiplicative() {
  ExprPtr lhs = parseUnary();
  ChainGuard chain(nesting_);
  while (lhs &&
         (tok().is(TokenKind::Star) || tok().is(TokenKind::Slash) ||
          tok().is(TokenKind::Percent)) &&
         continues()) {
    if (!chain.extend()) {
      errorAtCurrent("expression is nested too deeply");
      return nullptr;
    }
    BinaryOp op = tok().is(TokenKind::Star)    ? BinaryOp::Mul
                  : tok().is(TokenKind::Slash) ? BinaryOp::Div
                                               : BinaryOp::Mod;
    SourceRange opR = consume().range;
    ExprPtr rhs = parseUnary();
    if (!rhs)
      return nullptr;
    SourceRange r = SourceRange::merge(lhs->range, rhs->range);
    lhs = std::make_unique<BinaryExpr>(op, opR, std::move(lhs), std::move(rhs),
                                       r);
  }
  return lhs;
}

ExprPtr Parser::parseUnary() {
  if (tok().is(TokenKind::Minus)) {
    NestingGuard guard(nesting_);
    if (nesting_ > kMaxNesting) {
      errorAtCurrent("expression is nested too deeply");
      return nullptr;
    }
    SourceLoc begin = consume().range.begin;
    ExprPtr operand = parseUnary();
    if (!operand)
      return nullptr;
    return std::make_unique<UnaryExpr>(UnaryOp::Neg, std::move(operand),
                                       rangeFrom(begin));
  }
  return parsePower();
}

/// `a ^ b` binds tighter than unary minus and is right-associative.
ExprPtr Parser::parsePower() {
  ExprPtr base = parsePostfix();
  if (!base || !tok().is(TokenKind::Caret) || !continues())
    return base;
  NestingGuard guard(nesting_);
  if (nesting_ > kMaxNesting) {
    errorAtCurrent("expression is nested too deeply");
    return nullptr;
  }
  SourceRange opR = consume().range;
  ExprPtr exponent = parseUnary();
  if (!exponent)
    return nullptr;
  SourceRange r = SourceRange::merge(base->range, exponent->range);
  return std::make_unique<BinaryExpr>(BinaryOp::Pow, opR, std::move(base),
                                      std::move(exponent), r);
}

ExprPtr Parser::parsePostfix() {
  ExprPtr e = parsePrimary();
  ChainGuard chain(nesting_);
  while (e && continues() &&
         (tok().is(TokenKind::LBracket) || tok().is(TokenKind::Dot))) {
    if (!chain.extend()) {
      errorAtCurrent("expression is nested too deeply");
      return nullptr;
    }
    if (tok().is(TokenKind::LBracket)) {
      // In keyword arguments `hidden [256]` is a value, not an index; the
      // parser only gets here for a real postfix position.
      consume();
      ++groupDepth_;
      std::vector<ExprPtr> indices;
      bool ok = true;
      do {
        ExprPtr i = parseExpr();
        if (!i) {
          ok = false;
          break;
        }
        indices.push_back(std::move(i));
      } while (consumeIf(TokenKind::Comma));
      --groupDepth_;
      if (!ok || !expect(TokenKind::RBracket, "to close the index"))
        return nullptr;
      SourceRange r(e->range.begin, prevEnd());
      e = std::make_unique<IndexExpr>(std::move(e), std::move(indices), r);
    } else {
      consume(); // .
      Ident member;
      if (!expectIdent(member, "a member name after '.'"))
        return nullptr;
      SourceRange r(e->range.begin, prevEnd());
      e = std::make_unique<MemberExpr>(std::move(e), std::move(member), r);
    }
  }
  return e;
}

ExprPtr Parser::parsePrimary() {
  const Token &t = tok();
  switch (t.kind) {
  case TokenKind::IntLiteral: {
    Token lit = consume();
    return std::make_unique<IntLitExpr>(lit.intValue, lit.range);
  }
  case TokenKind::FloatLiteral: {
    Token lit = consume();
    return std::make_unique<FloatLitExpr>(lit.floatValue, lit.range);
  }
  case TokenKind::KwTrue:
  case TokenKind::KwFalse: {
    Token lit = consume();
    return std::make_unique<BoolLitExpr>(lit.is(TokenKind::KwTrue), lit.range);
  }
  case TokenKind::Identifier: {
    Ident name{std::string(t.text), t.range};
    consume();
    if (tok().is(TokenKind::LParen) && continues())
      return parseCallOrReduce(std::move(name));
    return std::make_unique<NameExpr>(std::move(name.name), name.range);
  }
  case TokenKind::LParen: {
    consume();
    ++groupDepth_;
    ExprPtr inner = parseExpr();
    --groupDepth_;
    if (!inner || !expect(TokenKind::RParen, "to close the parenthesis"))
      return nullptr;
    return inner;
  }
  case TokenKind::LBracket: {
    SourceLoc begin = consume().range.begin;
    ++groupDepth_;
    std::vector<ExprPtr> elems;
    bool ok = true;
    if (!tok().is(TokenKind::RBracket)) {
      do {
        if (tok().is(TokenKind::RBracket))
          break; // trailing comma
        ExprPtr e = parseExpr();
        if (!e) {
          ok = false;
          break;
        }
        elems.push_back(std::move(e));
      } while (consumeIf(TokenKind::Comma));
    }
    --groupDepth_;
    if (!ok || !expect(TokenKind::RBracket, "to close the array"))
      return nullptr;
    return std::make_unique<ArrayLitExpr>(std::move(elems), rangeFrom(begin));
  }
  case TokenKind::KwIf:
    return parseIfExpr();
  case TokenKind::LBrace:
    return parseBlockExpr();
  default:
    errorAtCurrent(fmt::format("expected an expression, found {}", describe(t)));
    return nullptr;
  }
}

ExprPtr Parser::parseIfExpr() {
  SourceLoc begin = consume().range.begin;
  NestingGuard guard(nesting_);
  if (nesting_ > kMaxNesting) {
    errorAtCurrent("expression is nested too deeply");
    return nullptr;
  }
  ExprPtr cond = parseExpr();
  if (!cond)
    return nullptr;
  if (!tok().is(TokenKind::LBrace)) {
    errorAtCurrent(fmt::format("expected '{{' after the 'if' condition, "
                               "found {}",
                               describe(tok())));
    return nullptr;
  }
  ExprPtr thenE = parseBlockExpr();
  if (!thenE)
    return nullptr;
  if (!tok().is(TokenKind::KwElse)) {
    errorAtCurrent("an 'if' expression needs an 'else' branch");
    return nullptr;
  }
  consume();
  ExprPtr elseE =
      tok().is(TokenKind::KwIf) ? parseIfExpr() : parseBlockExpr();
  if (!elseE)
    return nullptr;
  return std::make_unique<IfExpr>(std::move(cond), std::move(thenE),
                                  std::move(elseE), rangeFrom(begin));
}

/// `f(args)` or the comprehension `f(i in lo..hi, j in lo..hi: body)`.
ExprPtr Parser::parseCallOrReduce(Ident callee) {
  SourceLoc begin = callee.range.begin;
  consume(); // (
  NestingGuard guard(nesting_);
  if (nesting_ > kMaxNesting) {
    errorAtCurrent("expression is nested too deeply");
    return nullptr;
  }
  ++groupDepth_;
  if (tok().is(TokenKind::Identifier) && peekTok().is(TokenKind::KwIn)) {
    std::vector<ReduceIter> iters;
    ExprPtr body;
    bool ok = true;
    do {
      ReduceIter it;
      ok = expectIdent(it.name, "an index name") &&
           expect(TokenKind::KwIn, "after the index name");
      if (ok)
        it.lo = parseExpr();
      ok = ok && it.lo && expect(TokenKind::DotDot, "in the range 'lo..hi'");
      if (ok)
        it.hi = parseExpr();
      ok = ok && it.hi;
      if (!ok)
        break;
      iters.push_back(std::move(it));
    } while (consumeIf(TokenKind::Comma));
    ok = ok && expect(TokenKind::Colon, "before the body of the reduction");
    if (ok)
      body = parseExpr();
    --groupDepth_;
    if (!ok || !body || !expect(TokenKind::RParen, "to close the reduction"))
      return nullptr;
    return std::make_unique<ReduceExpr>(std::move(callee), std::move(iters),
                                        std::move(body), rangeFrom(begin));
  }
  std::vector<CallArg> args;
  bool ok = parseCallArgs(args, TokenKind::RParen);
  --groupDepth_;
  if (!ok || !expect(TokenKind::RParen, "to close the argument list"))
    return nullptr;
  return std::make_unique<CallExpr>(std::move(callee), std::move(args),
                                    rangeFrom(begin));
}

bool Parser::parseCallArgs(std::vector<CallArg> &args, TokenKind close) {
  if (tok().is(close))
    return true;
  do {
    if (configMode_) {
      if (!parseConfigArg(args))
        return false;
      continue;
    }
    SourceLoc begin = tok().range.begin;
    ExprPtr value = parseExpr();
    if (!value)
      return false;
    args.push_back({std::nullopt, std::move(value), nullptr, rangeFrom(begin)});
  } while (consumeIf(TokenKind::Comma));
  return true;
}

/// In configuration calls an argument is `key value`, `from -> to`, or a
/// positional value. `key` is recognised by a following literal, name or `[`.
bool Parser::parseConfigArg(std::vector<CallArg> &args) {
  SourceLoc begin = tok().range.begin;
  CallArg arg;
  if (tok().is(TokenKind::Identifier)) {
    TokenKind next = peekTok().kind;
    // `lr -1e-3` is a keyword and a negative number (the minus apart from
    // the name and against the number); `a - 1` is a difference.
    bool negative =
        next == TokenKind::Minus &&
        tok().range.end.offset < peekTok().range.begin.offset &&
        peekTok().range.end.offset == peekTok(2).range.begin.offset &&
        (peekTok(2).is(TokenKind::IntLiteral) ||
         peekTok(2).is(TokenKind::FloatLiteral));
    bool keyword =
        !peekTok().atLineStart &&
        (next == TokenKind::IntLiteral || next == TokenKind::FloatLiteral ||
         next == TokenKind::StringLiteral || next == TokenKind::Identifier ||
         next == TokenKind::LBracket || next == TokenKind::KwTrue ||
         next == TokenKind::KwFalse || negative);
    if (keyword) {
      arg.keyword = Ident{std::string(tok().text), tok().range};
      consume();
    }
  }
  if (arg.keyword && tok().is(TokenKind::LBracket)) {
    // A list value such as `hidden [256, 256]`.
    arg.value = parsePrimary();
  } else {
    arg.value = parseExpr();
  }
  if (!arg.value)
    return false;
  if (tok().is(TokenKind::Arrow)) {
    // `from -> to` (a network signature), or with a keyword a schedule
    // `key from -> to over N`.
    consume();
    ExprPtr to = parseExpr();
    if (!to)
      return false;
    SourceRange r = SourceRange::merge(arg.value->range, to->range);
    arg.value =
        std::make_unique<ArrowExpr>(std::move(arg.value), std::move(to), r);
    if (arg.keyword) {
      if (!tok().isIdent("over")) {
        diags_.error(tok().range,
                     fmt::format("expected 'over ITERATIONS' after the "
                                 "schedule of '{}', found {}",
                                 arg.keyword->name, describe(tok())));
        return false;
      }
      consume();
      arg.over = parseExpr();
      if (!arg.over)
        return false;
    }
  }
  arg.range = rangeFrom(begin);
  args.push_back(std::move(arg));
  return true;
}

/// A network definition or train setting: an expression whose calls take
/// keyword arguments.
ExprPtr Parser::parseConfigValue() {
  bool save = configMode_;
  configMode_ = true;
  ExprPtr e = parseExpr();
  configMode_ = save;
  return e;
}

} // namespace gfl
