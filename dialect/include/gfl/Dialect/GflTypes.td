//===- GflTypes.td - gfl dialect types ---------------------*- tablegen -*-===//

#ifndef GFL_DIALECT_GFLTYPES_TD
#define GFL_DIALECT_GFLTYPES_TD

include "mlir/IR/AttrTypeBase.td"
include "gfl/Dialect/GflDialect.td"

class Gfl_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<Gfl_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def Gfl_TrajType : Gfl_Type<"Traj", "traj"> {
  let summary = "one trajectory of a padded batch";
  let description = [{
    An opaque handle to one trajectory s0 -> s1 -> ... -> sn -> exit inside a
    padded batch of trajectories. Objectives read its quantities with
    `gfl.traj_seq`, `gfl.traj_scalar` and `gfl.traj_len`.
  }];
}

def Gfl_SeqType : Gfl_Type<"Seq", "seq"> {
  let summary = "per-step padded sequence of a trajectory";
  let description = [{
    A per-step sequence of scalars (`f32`, `i32` or `i1`) belonging to one
    trajectory. It is stored padded to the batch's maximum length; its valid
    length is dynamic and depends on the quantity (see `gfl.traj_seq`).
  }];
  let parameters = (ins "::mlir::Type":$elementType);
  let assemblyFormat = "`<` $elementType `>`";
  let genVerifyDecl = 1;
  let builders = [
    TypeBuilderWithInferredContext<(ins "::mlir::Type":$elementType), [{
      return $_get(elementType.getContext(), elementType);
    }]>
  ];
  let skipDefaultBuilders = 1;
}

#endif // GFL_DIALECT_GFLTYPES_TD
