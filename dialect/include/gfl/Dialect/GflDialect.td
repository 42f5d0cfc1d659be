//===- GflDialect.td - gfl dialect definition --------------*- tablegen -*-===//
//
// The `gfl` dialect: environments, trajectory objectives and the expression
// ops they use, as produced by gflc's MLIRGen from .gfl sources.
//
//===----------------------------------------------------------------------===//

#ifndef GFL_DIALECT_GFLDIALECT_TD
#define GFL_DIALECT_GFLDIALECT_TD

include "mlir/IR/OpBase.td"

def Gfl_Dialect : Dialect {
  let name = "gfl";
  let cppNamespace = "::mlir::gfl";
  let summary = "GFlowNet environments and training objectives";
  let description = [{
    The `gfl` dialect describes a GFlowNet training problem: environments
    (`gfl.env` with states, action families, stop, terminal condition,
    log-reward and features) and per-trajectory objectives
    (`gfl.objective`) written over trajectory quantities. Language `int` is
    `i32`, `float` is `f32` and `bool` is `i1`. Element-wise math uses the
    upstream `arith`, `math` and `tensor` dialects alongside these ops.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
  private:
    void registerTypes();
    void registerAttributes();
  public:
  }];
}

class Gfl_Op<string mnemonic, list<Trait> traits = []>
    : Op<Gfl_Dialect, mnemonic, traits>;

#endif // GFL_DIALECT_GFLDIALECT_TD
