//===- SemaImpl.h - Internal state of semantic analysis ---------*- C++ -*-===//
//
// Shared by Sema.cpp (declarations), SemaExpr.cpp (expression typing) and
// ConstEval.cpp (compile-time evaluation).
//
//===----------------------------------------------------------------------===//

#ifndef GFL_FRONTEND_LIB_SEMAIMPL_H
#define GFL_FRONTEND_LIB_SEMAIMPL_H

#include "gfl/Frontend/Sema.h"

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace gfl {

/// Where an expression appears; decides which names and builtins it may use.
enum class ExprContext {
  Const,     // param values, shapes, domains, initial values, settings
  Env,       // guards, updates, terminal, reward, features
  Objective, // objective bodies
};

struct Symbol {
  Binding binding;
  Type type;
  SourceRange declRange;
  bool assignable = false; // state fields in action bodies
};

class SemaImpl {
public:
  SemaImpl(Program &program, DiagnosticEngine &diags,
           const Overrides &overrides)
      : program_(program), diags_(diags), overrides_(overrides) {}

  CheckedProgram run();

  // Expression typing (SemaExpr.cpp). Returns the type and stores it in the
  // node; an invalid type means an error was reported.
  Type check(Expr &e);

  // Compile-time evaluation (ConstEval.cpp) of an already checked expression.
  std::optional<ConstValue> evaluate(const Expr &e);
  /// Checks and evaluates `e` in constant context; reports when it is not a
  /// constant. `what` names the value in messages ("a shape").
  std::optional<ConstValue> constant(Expr &e, const char *what);
  std::optional<int64_t> constantInt(Expr &e, const char *what);
  std::optional<double> constantNumber(Expr &e, const char *what);

private:
  friend class ExprChecker;

  // Declarations (Sema.cpp).
  void checkParam(ParamDecl &p);
  /// A file named in the source (`load`, `model`): relative paths are
  /// relative to the .gfl file that names it.
  std::filesystem::path besideSource(const LoadSource &file) const;
  std::optional<ConstValue> loadParam(const ParamDecl &p,
                                      std::string &loadedPath);
  bool conformParam(ParamDecl &p, ConstValue &value);
  void checkEnv(EnvDecl &env);
  void checkStateField(StateField &f, int index, EnvInfo &info);
  void checkCondition(ConditionDecl &c, EnvInfo &info);
  void checkAction(ActionDecl &a, EnvInfo &info);
  void checkStmts(std::vector<StmtPtr> &stmts);
  void checkStmt(Stmt &s);
  void checkFor(ForStmt &f);
  void checkRewardModel(const EnvDecl &env, const Type &input, EnvInfo &info);
  void checkModel(ModelDecl &m);
  void checkNet(NetDecl &net);
  void checkObjective(ObjectiveDecl &o);
  void checkTrain(TrainDecl &t);
  std::optional<StateSetInfo> checkStateSet(Expr &e, const std::string &key);
  std::optional<ConfigCall>
  checkConfigCall(Expr &e, const char *what,
                  const std::vector<const char *> &keys);
  // The sampler and schedules of the train block (SemaTrain.cpp).
  void checkSampler(TrainItem &item, SamplerInfo &out);
  bool checkSamplerStage(Expr &stage, SamplerInfo &out,
                         std::set<std::string> &seen);
  void checkLrSchedule(Expr &value, LrScheduleInfo &out);
  bool checkConfigArgs(std::vector<CallArg> &args, ConfigCall &out,
                       const std::vector<const char *> &keys);
  bool expectType(const Expr &e, const Type &t, const char *what,
                  bool allowIntToFloat);
  std::optional<Type> resolveTypeSpec(TypeSpec &spec);

  // Scopes.
  void pushScope() { scopes_.emplace_back(); }
  void popScope() { scopes_.pop_back(); }
  /// Declares `name` in the innermost scope; reports shadowing conflicts.
  bool declare(const Ident &name, Symbol sym);
  const Symbol *lookup(const std::string &name) const;

public:
  /// Applies `--set NAME=VALUE` to a param value or a train setting;
  /// returns false (after reporting) when the text does not fit.
  bool applyOverride(const std::string &name, ConstValue &value);
  void applyTrainOverrides(TrainInfo &info, bool &haveObjective);
  void reportUnusedOverrides();

  Program &program_;
  DiagnosticEngine &diags_;
  const Overrides &overrides_;
  std::set<std::string> usedOverrides_;
  CheckedProgram result_;
  std::vector<std::map<std::string, Symbol>> scopes_;
  ExprContext context_ = ExprContext::Const;
  const EnvDecl *firstEnv_ = nullptr;
  const ModelDecl *firstModel_ = nullptr;
  const TrainDecl *firstTrain_ = nullptr;
  /// Objectives by name for duplicate detection and train references.
  std::map<std::string, const ObjectiveDecl *> objectiveDecls_;
  std::map<std::string, const ParamDecl *> paramDecls_;
  /// The env's conditions, and those the reward has read so far.
  std::set<std::string> conditionNames_;
  std::set<int> conditionsRead_;

  /// Trajectory members each objective reads, with their first use.
  std::string currentObjective_;
  std::map<std::string, std::map<std::string, SourceRange>> objectiveMembers_;
  /// A range an objective parameter must lie in (the discount of
  /// `returns`), checked against the values the train block gives.
  struct ParamRange {
    size_t param; // index among the scalar parameters
    std::string what;
    double lo, hi;
    bool loOpen;
    SourceRange use;
  };
  std::map<std::string, std::vector<ParamRange>> paramRanges_;
  /// Requires `e` in (lo, hi] (`loOpen`) or [lo, hi]: now when it is a
  /// constant, else with the train block when it is an objective parameter.
  void requireRange(Expr &e, const char *what, double lo, bool loOpen,
                    double hi);
  /// The model and train settings the training objective's reads need;
  /// errors at `at` (the train block's objective).
  void checkObjectiveNeeds(const TrainInfo &info, SourceRange at);
  void checkTarget(Expr &value, TrainInfo &info);
};

/// Whether `m` declares a network `name` before `end` (all of them when
/// `end` is null), whether or not it checked without errors.
bool declaresNet(const ModelDecl *m, const std::string &name,
                 const NetDecl *end = nullptr);

/// Shape of the broadcast of `a` and `b` (scalars broadcast to tensors).
std::optional<std::vector<int64_t>> broadcastShapes(const Type &a,
                                                    const Type &b);

} // namespace gfl

#endif // GFL_FRONTEND_LIB_SEMAIMPL_H
