//===- MLIRGenImpl.h - State of the AST to gfl emitter ----------*- C++ -*-===//

#ifndef GFL_COMPILER_LIB_MLIRGENIMPL_H
#define GFL_COMPILER_LIB_MLIRGENIMPL_H

#include "gfl/Compiler/MLIRGen.h"
#include "gfl/Dialect/GflOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/MLIRContext.h"

#include <map>
#include <vector>

namespace gfl {

class MLIRGenImpl {
public:
  MLIRGenImpl(mlir::MLIRContext &ctx, const SourceBuffer &buffer,
              const CheckedProgram &checked, const SourceBuffer *library)
      : ctx_(ctx), buffer_(buffer), library_(library), checked_(checked),
        b_(&ctx) {}

  mlir::OwningOpRef<mlir::ModuleOp> generate();

private:
  // Declarations (MLIRGen.cpp).
  void genEnv(const EnvInfo &env);
  void genAction(const ActionInfo &action);
  /// A region's entry block: the state fields, then `extraI32Args` action
  /// parameters or (`withConditions`, the reward) the conditions.
  mlir::Block *beginRegion(mlir::Region &region, mlir::Location loc,
                           size_t extraI32Args = 0,
                           bool withConditions = false);
  void genObjective(const ObjectiveInfo &obj);
  mlir::Attribute constAttr(const ConstValue &v);

  // Statements (MLIRGenStmt.cpp): update `state_` in place.
  void genStmts(const std::vector<StmtPtr> &stmts);
  void genStmt(const Stmt &s);
  void genAssign(const AssignStmt &a);
  void genFor(const ForStmt &f);

  // Expressions (MLIRGenExpr.cpp).
  mlir::Value gen(const Expr &e);
  mlir::Value genName(const NameExpr &e);
  mlir::Value genUnary(const UnaryExpr &e);
  mlir::Value genBinary(const BinaryExpr &e);
  mlir::Value genCall(const CallExpr &e);
  mlir::Value genIndex(const IndexExpr &e);
  mlir::Value genMember(const MemberExpr &e);
  mlir::Value genArray(const ArrayLitExpr &e);
  mlir::Value genIf(const IfExpr &e);
  mlir::Value genBlock(const BlockExpr &e);
  mlir::Value genReduce(const ReduceExpr &e);
  mlir::Value genReduceTensor(const std::string &func, mlir::Value v,
                              const Type &t, mlir::Location loc);

public:
  // Helpers shared by the files above.
  mlir::Location loc(SourceRange r);
  mlir::Type elemType(ScalarKind k);
  mlir::Type mlirType(const Type &t);
  mlir::Value constant(const ConstValue &v, mlir::Location loc);
  mlir::Value scalarConst(ScalarKind k, double v, mlir::Location loc);
  mlir::Value indexConst(int64_t v, mlir::Location loc);
  /// Converts `v` (of gfl type `from`) elementwise to scalar kind `to`.
  mlir::Value convert(mlir::Value v, const Type &from, ScalarKind to,
                      mlir::Location loc);
  /// Splats a scalar to `shape` (no-op for tensors and empty shapes).
  mlir::Value broadcast(mlir::Value v, const std::vector<int64_t> &shape,
                        mlir::Location loc);
  mlir::Value toIndex(mlir::Value i32, mlir::Location loc);
  /// Flattens a scalar or tensor to a 1-D tensor.
  mlir::Value flatten(mlir::Value v, const Type &t, mlir::Location loc);
  /// `e` as a flat f32 vector (features, a reward model's input).
  mlir::Value genFloatVector(const Expr &e);

  mlir::MLIRContext &ctx_;
  const SourceBuffer &buffer_;
  const SourceBuffer *library_;
  const CheckedProgram &checked_;
  mlir::OpBuilder b_;
  mlir::StringAttr fileName_, libraryName_;

  // Values in scope while emitting a region.
  std::vector<mlir::Value> state_;             // current state field values
  std::vector<mlir::Value> actionArgs_;        // action parameters (i32)
  std::vector<mlir::Value> conditionArgs_;     // conditions (the reward)
  std::vector<mlir::Value> objectiveArgs_;     // objective arguments
  std::map<const void *, mlir::Value> locals_; // Let* / ReduceIter* -> value
};

} // namespace gfl

#endif // GFL_COMPILER_LIB_MLIRGENIMPL_H
