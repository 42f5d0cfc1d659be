//===- AST.h - Abstract syntax tree of .gfl programs ------------*- C++ -*-===//
//
// Every node carries the source range it was parsed from. Expressions also
// carry the type and the resolved binding that Sema fills in; the parser
// leaves them empty.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_FRONTEND_AST_H
#define GFL_FRONTEND_AST_H

#include "gfl/Frontend/SourceLocation.h"
#include "gfl/Frontend/Type.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gfl {

struct Expr;
struct Stmt;
struct Decl;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;

/// A name with its location (declarations, keywords of arguments, members).
struct Ident {
  std::string name;
  SourceRange range;
};

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

enum class ExprKind {
  IntLit,
  FloatLit,
  BoolLit,
  Name,
  Unary,
  Binary,
  Call,
  Index,
  Member,
  ArrayLit,
  If,
  Block,
  Reduce, // comprehension: sum(i in 0..N, j in 0..M: body)
  Arrow,  // `a -> b`, only in network signatures
};

enum class UnaryOp { Neg, Not };
enum class BinaryOp {
  Add,
  Sub,
  Mul,
  Div,
  Mod,
  Pow,
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
  And,
  Or
};

const char *spelling(UnaryOp op);
const char *spelling(BinaryOp op);

/// What a Name expression refers to after Sema.
enum class BindingKind {
  Unresolved,
  Param,       // top-level `param`
  StateField,  // env state field
  ActionParam, // parameter of an action family
  Let,         // `let` in a block or action body
  Iterator,    // index variable of a comprehension
  ObjParam,    // parameter of an objective (trajectory or scalar)
  Network,     // model entry (e.g. logZ inside an objective)
  Condition,   // env `condition`, read by the reward
  Builtin,     // symbolic constants such as `features`, `actions`
};

struct Binding {
  BindingKind kind = BindingKind::Unresolved;
  const void *decl = nullptr; // the declaring node (kind-specific)
  int index = -1;             // position (state field index, param index...)
};

struct Let;
struct ReduceIter;

struct Expr {
  ExprKind kind;
  SourceRange range;
  Type type;       // filled by Sema
  Binding binding; // Name only, filled by Sema

  explicit Expr(ExprKind k, SourceRange r) : kind(k), range(r) {}
  virtual ~Expr() = default;
};

struct IntLitExpr : Expr {
  int64_t value;
  IntLitExpr(int64_t v, SourceRange r) : Expr(ExprKind::IntLit, r), value(v) {}
};

struct FloatLitExpr : Expr {
  double value;
  FloatLitExpr(double v, SourceRange r)
      : Expr(ExprKind::FloatLit, r), value(v) {}
};

struct BoolLitExpr : Expr {
  bool value;
  BoolLitExpr(bool v, SourceRange r) : Expr(ExprKind::BoolLit, r), value(v) {}
};

struct NameExpr : Expr {
  std::string name;
  NameExpr(std::string n, SourceRange r)
      : Expr(ExprKind::Name, r), name(std::move(n)) {}
};

struct UnaryExpr : Expr {
  UnaryOp op;
  ExprPtr operand;
  UnaryExpr(UnaryOp o, ExprPtr e, SourceRange r)
      : Expr(ExprKind::Unary, r), op(o), operand(std::move(e)) {}
};

struct BinaryExpr : Expr {
  BinaryOp op;
  SourceRange opRange;
  ExprPtr lhs, rhs;
  BinaryExpr(BinaryOp o, SourceRange opR, ExprPtr l, ExprPtr r, SourceRange rr)
      : Expr(ExprKind::Binary, rr), op(o), opRange(opR), lhs(std::move(l)),
        rhs(std::move(r)) {}
};

/// An argument of a call. In configuration calls (model, train) an argument
/// may be a keyword argument `lr 1e-3`, which sets `keyword`, or a schedule
/// `epsilon 1.0 -> 0.1 over 500`: `value` is then an ArrowExpr and `over`
/// the number of iterations.
struct CallArg {
  std::optional<Ident> keyword;
  ExprPtr value;
  ExprPtr over; // schedules only
  SourceRange range;
};

struct CallExpr : Expr {
  Ident callee;
  std::vector<CallArg> args;
  CallExpr(Ident c, std::vector<CallArg> a, SourceRange r)
      : Expr(ExprKind::Call, r), callee(std::move(c)), args(std::move(a)) {}
};

struct IndexExpr : Expr {
  ExprPtr base;
  std::vector<ExprPtr> indices;
  IndexExpr(ExprPtr b, std::vector<ExprPtr> i, SourceRange r)
      : Expr(ExprKind::Index, r), base(std::move(b)), indices(std::move(i)) {}
};

struct MemberExpr : Expr {
  ExprPtr base;
  Ident member;
  MemberExpr(ExprPtr b, Ident m, SourceRange r)
      : Expr(ExprKind::Member, r), base(std::move(b)), member(std::move(m)) {}
};

struct ArrayLitExpr : Expr {
  std::vector<ExprPtr> elements;
  ArrayLitExpr(std::vector<ExprPtr> e, SourceRange r)
      : Expr(ExprKind::ArrayLit, r), elements(std::move(e)) {}
};

/// `if c { a } else { b }` as an expression.
struct IfExpr : Expr {
  ExprPtr cond, thenExpr, elseExpr;
  IfExpr(ExprPtr c, ExprPtr t, ExprPtr e, SourceRange r)
      : Expr(ExprKind::If, r), cond(std::move(c)), thenExpr(std::move(t)),
        elseExpr(std::move(e)) {}
};

struct Let {
  Ident name;
  ExprPtr value;
  SourceRange range;
};

/// `{ let a = ...  let b = ...  result }`
struct BlockExpr : Expr {
  std::vector<Let> lets;
  ExprPtr result;
  BlockExpr(std::vector<Let> l, ExprPtr res, SourceRange r)
      : Expr(ExprKind::Block, r), lets(std::move(l)), result(std::move(res)) {}
};

/// One iterator of a comprehension: `i in lo..hi` (half-open).
struct ReduceIter {
  Ident name;
  ExprPtr lo, hi;
};

/// `sum(i in 0..N, j in 0..M: body)`; the reduction is named by `func`.
struct ReduceExpr : Expr {
  Ident func;
  std::vector<ReduceIter> iters;
  ExprPtr body;
  ReduceExpr(Ident f, std::vector<ReduceIter> it, ExprPtr b, SourceRange r)
      : Expr(ExprKind::Reduce, r), func(std::move(f)), iters(std::move(it)),
        body(std::move(b)) {}
};

struct ArrowExpr : Expr {
  ExprPtr from, to;
  ArrowExpr(ExprPtr f, ExprPtr t, SourceRange r)
      : Expr(ExprKind::Arrow, r), from(std::move(f)), to(std::move(t)) {}
};

//===----------------------------------------------------------------------===//
// Statements (action bodies and undo blocks)
//===----------------------------------------------------------------------===//

enum class StmtKind { Let, Assign, If, For };
enum class AssignOp { Set, Add, Sub, Mul, Div };
const char *spelling(AssignOp op);

struct Stmt {
  StmtKind kind;
  SourceRange range;
  explicit Stmt(StmtKind k, SourceRange r) : kind(k), range(r) {}
  virtual ~Stmt() = default;
};

struct LetStmt : Stmt {
  Let let;
  explicit LetStmt(Let l) : Stmt(StmtKind::Let, l.range), let(std::move(l)) {}
};

/// `target op= value` where target is a state field or an indexed element.
struct AssignStmt : Stmt {
  ExprPtr target;
  AssignOp op;
  ExprPtr value;
  AssignStmt(ExprPtr t, AssignOp o, ExprPtr v, SourceRange r)
      : Stmt(StmtKind::Assign, r), target(std::move(t)), op(o),
        value(std::move(v)) {}
};

struct IfStmt : Stmt {
  ExprPtr cond;
  std::vector<StmtPtr> thenBody, elseBody;
  IfStmt(ExprPtr c, std::vector<StmtPtr> t, std::vector<StmtPtr> e,
         SourceRange r)
      : Stmt(StmtKind::If, r), cond(std::move(c)), thenBody(std::move(t)),
        elseBody(std::move(e)) {}
};

/// `for i in LO..HI { body }` with constant bounds: the body runs for
/// i = LO, LO + 1, ..., HI - 1, each pass on the state the previous left.
struct ForStmt : Stmt {
  ReduceIter iter;
  std::vector<StmtPtr> body;
  ForStmt(ReduceIter it, std::vector<StmtPtr> b, SourceRange r)
      : Stmt(StmtKind::For, r), iter(std::move(it)), body(std::move(b)) {}
};

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

/// A written type: `int`, `float[D]`, `bool[L, L]`, `trajectory`.
struct TypeSpec {
  Ident base;
  std::vector<ExprPtr> dims;
  SourceRange range;
};

enum class DeclKind { Param, Env, Model, Objective, Train };

struct Decl {
  DeclKind kind;
  SourceRange range;
  Decl(DeclKind k, SourceRange r) : kind(k), range(r) {}
  virtual ~Decl() = default;
};

/// `param NAME = expr` (a compile-time constant, overridable with --set).
/// `load("path")`: a table read from a file when the program is compiled.
struct LoadSource {
  std::string path; // as written, relative to the .gfl file
  SourceRange range;
};

/// `param NAME (: TYPE)? = EXPR` or `param NAME (: TYPE)? = load("path")`.
struct ParamDecl : Decl {
  Ident name;
  std::optional<TypeSpec> type;
  ExprPtr value; // null for a load
  std::optional<LoadSource> load;
  ParamDecl(Ident n, ExprPtr v, SourceRange r)
      : Decl(DeclKind::Param, r), name(std::move(n)), value(std::move(v)) {}
};

/// `state NAME: TYPE in LO..HI = INIT`
struct StateField {
  Ident name;
  TypeSpec type;
  ExprPtr lo, hi; // domain, optional
  ExprPtr init;   // optional; zero when absent
  SourceRange range;
};

/// A parameter of an action family: `d: 0..D`.
struct ActionParam {
  Ident name;
  ExprPtr lo, hi;
  SourceRange range;
};

/// `action NAME(p: lo..hi, ...) requires GUARD { body } undo { body }`
struct ActionDecl {
  Ident name;
  std::vector<ActionParam> params;
  ExprPtr guard; // optional
  std::vector<StmtPtr> body;
  bool hasUndo = false;
  std::vector<StmtPtr> undo;
  SourceRange range;
};

/// `stop` or `stop requires GUARD`
struct StopDecl {
  ExprPtr guard; // optional
  SourceRange range;
};

/// `condition beta ~ loguniform(1.0, 4.0) = 1.0` or
/// `condition w: float[2] ~ dirichlet(1.0)`: a variable drawn per trajectory
/// that the reward reads.
struct ConditionDecl {
  Ident name;
  std::optional<TypeSpec> type;
  ExprPtr distribution; // a call
  ExprPtr value;        // optional: the value where none is drawn
  SourceRange range;
};

struct EnvDecl : Decl {
  Ident name;
  std::vector<StateField> states;
  std::vector<ConditionDecl> conditions;
  std::vector<ActionDecl> actions;
  std::optional<StopDecl> stop;
  ExprPtr terminal; // `terminal when EXPR`, optional
  SourceRange terminalRange;
  ExprPtr reward; // `reward EXPR` or `log_reward EXPR`
  bool rewardIsLog = false;
  /// `reward model("file", input EXPR)`: `reward` is then the input.
  std::optional<LoadSource> rewardModel;
  SourceRange rewardRange;
  ExprPtr stepReward; // `step_reward EXPR`, optional (RL update rules)
  SourceRange stepRewardRange;
  ExprPtr features; // optional
  SourceRange featuresRange;
  EnvDecl(Ident n, SourceRange r) : Decl(DeclKind::Env, r), name(std::move(n)) {}
};

/// `name = mlp(features -> actions, hidden [256, 256])`, `pb = uniform`
struct NetDecl {
  Ident name;
  ExprPtr def;
  SourceRange range;
};

struct ModelDecl : Decl {
  std::vector<NetDecl> nets;
  explicit ModelDecl(SourceRange r) : Decl(DeclKind::Model, r) {}
};

/// `t: trajectory` or `lambda: float = 0.9`
struct ObjParam {
  Ident name;
  TypeSpec type;
  ExprPtr defaultValue; // optional
  SourceRange range;
};

struct ObjectiveDecl : Decl {
  Ident name;
  std::vector<ObjParam> params;
  ExprPtr body;
  ObjectiveDecl(Ident n, SourceRange r)
      : Decl(DeclKind::Objective, r), name(std::move(n)) {}
};

/// A per-group override in `optimizer adam(lr 1e-3) { logZ: lr 0.1 }`.
struct GroupOverride {
  Ident group;
  std::vector<CallArg> args;
  SourceRange range;
};

enum class TrainItemKind {
  Value,     // `batch 16`, `objective tb`, `sampler on_policy(epsilon 0.0)`
  EvalEvery, // `eval every 100: l1, jsd`
};

struct TrainItem {
  TrainItemKind kind;
  Ident key;
  ExprPtr value; // the setting; for EvalEvery the period
  std::vector<GroupOverride> overrides; // `optimizer ... { logZ: lr 0.1 }`
  std::vector<Ident> metrics;           // EvalEvery
  /// `sampler { on_policy(...)  replay(...)  local_search(...) }`: one
  /// configuration call per stage (`value` is then null).
  std::vector<ExprPtr> stages;
  SourceRange range;
};

struct TrainDecl : Decl {
  std::vector<TrainItem> items;
  explicit TrainDecl(SourceRange r) : Decl(DeclKind::Train, r) {}
};

/// A parsed .gfl file.
struct Program {
  std::vector<std::unique_ptr<Decl>> decls;
};

} // namespace gfl

#endif // GFL_FRONTEND_AST_H
