//===- GflAttrs.td - gfl dialect enum attributes -----------*- tablegen -*-===//

#ifndef GFL_DIALECT_GFLATTRS_TD
#define GFL_DIALECT_GFLATTRS_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "gfl/Dialect/GflDialect.td"

def Gfl_ReduceKind : I32EnumAttr<"ReduceKind", "reduction kind", [
    I32EnumAttrCase<"Sum", 0, "sum">,
    I32EnumAttrCase<"Prod", 1, "prod">,
    I32EnumAttrCase<"All", 2, "all">,
    I32EnumAttrCase<"Any", 3, "any">,
    I32EnumAttrCase<"Min", 4, "min">,
    I32EnumAttrCase<"Max", 5, "max">,
    I32EnumAttrCase<"LogSumExp", 6, "logsumexp">
  ]> {
  let cppNamespace = "::mlir::gfl";
  let genSpecializedAttr = 0;
}

def Gfl_TrajSeqField : I32EnumAttr<"TrajSeqField",
    "per-step trajectory quantity", [
    I32EnumAttrCase<"LogPF", 0, "log_pf">,
    I32EnumAttrCase<"LogPB", 1, "log_pb">,
    I32EnumAttrCase<"LogF", 2, "log_f">,
    I32EnumAttrCase<"LogRStep", 3, "log_r_step">,
    I32EnumAttrCase<"Energy", 4, "energy">,
    I32EnumAttrCase<"LogPFExit", 5, "log_pf_exit">,
    I32EnumAttrCase<"LogInFlow", 6, "log_in_flow">,
    I32EnumAttrCase<"LogOutFlow", 7, "log_out_flow">,
    I32EnumAttrCase<"LogExitFlow", 8, "log_exit_flow">,
    I32EnumAttrCase<"LogQ", 9, "log_q">,
    I32EnumAttrCase<"LogPFOld", 10, "log_pf_old">,
    I32EnumAttrCase<"Entropy", 11, "entropy">,
    I32EnumAttrCase<"Value", 12, "value">,
    I32EnumAttrCase<"ValueTarget", 13, "value_target">,
    I32EnumAttrCase<"Logit", 14, "logit">,
    I32EnumAttrCase<"LogNorm", 15, "log_norm">,
    I32EnumAttrCase<"LogitTarget", 16, "logit_target">,
    I32EnumAttrCase<"LogNormTarget", 17, "log_norm_target">,
    I32EnumAttrCase<"Reward", 18, "reward">
  ]> {
  let cppNamespace = "::mlir::gfl";
  let genSpecializedAttr = 0;
}

def Gfl_TrajScalarField : I32EnumAttr<"TrajScalarField",
    "scalar trajectory quantity", [
    I32EnumAttrCase<"LogR", 0, "log_r">,
    I32EnumAttrCase<"LogZ", 1, "log_z">,
    I32EnumAttrCase<"Exited", 2, "exited">
  ]> {
  let cppNamespace = "::mlir::gfl";
  let genSpecializedAttr = 0;
}

def Gfl_BatchReduceKind : I32EnumAttr<"BatchReduceKind",
    "batch collective kind", [
    I32EnumAttrCase<"Mean", 0, "mean">,
    I32EnumAttrCase<"Sum", 1, "sum">
  ]> {
  let cppNamespace = "::mlir::gfl";
  let genSpecializedAttr = 0;
}

def Gfl_ReduceKindAttr
    : EnumAttr<Gfl_Dialect, Gfl_ReduceKind, "reduce_kind"> {
  let assemblyFormat = "`<` $value `>`";
}

def Gfl_TrajSeqFieldAttr
    : EnumAttr<Gfl_Dialect, Gfl_TrajSeqField, "traj_seq_field"> {
  let assemblyFormat = "`<` $value `>`";
}

def Gfl_TrajScalarFieldAttr
    : EnumAttr<Gfl_Dialect, Gfl_TrajScalarField, "traj_scalar_field"> {
  let assemblyFormat = "`<` $value `>`";
}

def Gfl_BatchReduceKindAttr
    : EnumAttr<Gfl_Dialect, Gfl_BatchReduceKind, "batch_reduce_kind"> {
  let assemblyFormat = "`<` $value `>`";
}

#endif // GFL_DIALECT_GFLATTRS_TD
