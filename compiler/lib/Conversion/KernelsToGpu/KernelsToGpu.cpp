//===- KernelsToGpu.cpp - The gfl-kernels-to-gpu pass ---------------------===//
//
// Every gfl kernel is a batch loop (scf.forall) whose iterations are
// independent rows. On the GPU one thread runs one row. The kernel keeps the
// host function's signature, so the manifest's argument table describes
// both the CPU and the CUDA entry of a kernel.
//
//===----------------------------------------------------------------------===//

#include "gfl/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::gfl {

#define GEN_PASS_DEF_CONVERTKERNELSTOGPU
#include "gfl/Conversion/Passes.h.inc"

namespace {

/// The batch loop of a kernel, or null (with a diagnostic) when the function
/// is not a pure setup + one scf.forall + return.
scf::ForallOp batchLoop(func::FuncOp func) {
  scf::ForallOp loop;
  for (Operation &op : func.getBody().front()) {
    if (auto forall = dyn_cast<scf::ForallOp>(op)) {
      if (loop || forall.getRank() != 1) {
        func.emitError("cannot map to the GPU: a kernel needs exactly one "
                       "one-dimensional batch loop");
        return {};
      }
      loop = forall;
      continue;
    }
    if (isa<func::ReturnOp>(op) || isPure(&op) ||
        isa<memref::GetGlobalOp, memref::DimOp>(op))
      continue;
    op.emitError("cannot map to the GPU: only pure setup may precede the "
                 "batch loop");
    return {};
  }
  if (!loop) {
    func.emitError("cannot map to the GPU: the kernel has no batch loop");
    return {};
  }
  if (!isConstantIntValue(loop.getMixedLowerBound()[0], 0) ||
      !isConstantIntValue(loop.getMixedStep()[0], 1)) {
    loop.emitError("cannot map to the GPU: the batch loop must start at 0 "
                   "with step 1");
    return {};
  }
  return loop;
}

struct ConvertKernelsToGpuPass
    : impl::ConvertKernelsToGpuBase<ConvertKernelsToGpuPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module.getBody());
    auto gpuModule = b.create<gpu::GPUModuleOp>(module.getLoc(), "gfl_cuda");
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    b.getUnitAttr());
    SymbolTable gpuSymbols(gpuModule);

    // Kernels have a C interface; other functions are helpers they call.
    SmallVector<func::FuncOp> kernels;
    for (auto func : module.getOps<func::FuncOp>())
      if (func->hasAttr("llvm.emit_c_interface"))
        kernels.push_back(func);
    for (func::FuncOp func : kernels) {
      scf::ForallOp loop = batchLoop(func);
      if (!loop)
        return signalPassFailure();
      if (failed(outline(func, loop, gpuModule, gpuSymbols)))
        return signalPassFailure();
    }

    // Only the GPU code stays: the host functions and their globals go.
    for (Operation &op : llvm::make_early_inc_range(*module.getBody()))
      if (isa<func::FuncOp, memref::GlobalOp>(op))
        op.erase();
  }

  LogicalResult outline(func::FuncOp func, scf::ForallOp loop,
                        gpu::GPUModuleOp gpuModule, SymbolTable &gpuSymbols) {
    Location loc = func.getLoc();
    OpBuilder b(gpuModule.getBodyRegion());
    b.setInsertionPoint(gpuModule.getBody()->getTerminator());
    auto kernel =
        b.create<gpu::GPUFuncOp>(loc, func.getName(), func.getFunctionType());
    kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      kernel.setArgAttrs(i, func.getArgAttrDict(i));

    Block &entry = kernel.getBody().front();
    b.setInsertionPointToStart(&entry);
    IRMapping map;
    map.map(func.getArguments(), entry.getArguments());
    // The setup before the loop, then the row index of this thread.
    for (Operation &op : func.getBody().front()) {
      if (&op == loop.getOperation())
        break;
      if (auto get = dyn_cast<memref::GetGlobalOp>(op))
        if (failed(copyGlobal(func, get, gpuModule, gpuSymbols)))
          return failure();
      b.clone(op, map);
    }
    Value block = b.create<gpu::BlockIdOp>(loc, gpu::Dimension::x);
    Value size = b.create<gpu::BlockDimOp>(loc, gpu::Dimension::x);
    Value thread = b.create<gpu::ThreadIdOp>(loc, gpu::Dimension::x);
    Value row = b.create<arith::AddIOp>(
        loc, b.create<arith::MulIOp>(loc, block, size), thread);
    Value bound = map.lookupOrDefault(
        getValueOrCreateConstantIndexOp(b, loc, loop.getMixedUpperBound()[0]));
    Value inRange =
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, row, bound);
    auto guard = b.create<scf::IfOp>(loc, inRange, /*withElseRegion=*/false);
    b.setInsertionPointToStart(&guard.getThenRegion().front());
    map.map(loop.getInductionVar(0), row);
    for (Operation &op : loop.getBody()->without_terminator())
      b.clone(op, map);
    if (!loop.getTerminator().getYieldingOps().empty())
      return loop.emitError("cannot map to the GPU: the batch loop still "
                            "yields tensors (run after bufferization)");
    b.setInsertionPointToEnd(&entry);
    b.create<gpu::ReturnOp>(loc);

    if (failed(copyCallees(kernel, module(func), gpuModule, gpuSymbols)))
      return failure();

    // Per-row temporaries live in each thread's local memory.
    SmallVector<memref::AllocOp> allocs;
    kernel.walk([&](memref::AllocOp a) { allocs.push_back(a); });
    for (memref::AllocOp a : allocs) {
      OpBuilder ab(a);
      auto alloca = ab.create<memref::AllocaOp>(
          a.getLoc(), a.getType(), a.getDynamicSizes(), a.getSymbolOperands(),
          a.getAlignmentAttr());
      a.replaceAllUsesWith(alloca.getResult());
      a.erase();
    }
    SmallVector<memref::DeallocOp> deallocs;
    kernel.walk([&](memref::DeallocOp d) { deallocs.push_back(d); });
    for (memref::DeallocOp d : deallocs)
      d.erase();
    return success();
  }

  static ModuleOp module(Operation *op) {
    return op->getParentOfType<ModuleOp>();
  }

  /// Copies the functions that `root` calls, and theirs, into the GPU
  /// module (once each).
  LogicalResult copyCallees(Operation *root, ModuleOp host,
                            gpu::GPUModuleOp gpuModule,
                            SymbolTable &gpuSymbols) {
    SmallVector<Operation *> work{root};
    while (!work.empty()) {
      Operation *op = work.pop_back_val();
      WalkResult r = op->walk([&](func::CallOp call) {
        if (gpuSymbols.lookup(call.getCallee()))
          return WalkResult::advance();
        auto callee = host.lookupSymbol<func::FuncOp>(call.getCallee());
        if (!callee || callee.isExternal()) {
          call.emitError("cannot map to the GPU: calls an external function");
          return WalkResult::interrupt();
        }
        OpBuilder b(gpuModule.getBodyRegion());
        b.setInsertionPointToStart(gpuModule.getBody());
        Operation *copy = b.clone(*callee.getOperation());
        gpuSymbols.insert(copy);
        work.push_back(copy);
        return WalkResult::advance();
      });
      if (r.wasInterrupted())
        return failure();
    }
    return success();
  }

  /// Copies the global that `get` reads into the GPU module (once).
  LogicalResult copyGlobal(func::FuncOp func, memref::GetGlobalOp get,
                           gpu::GPUModuleOp gpuModule,
                           SymbolTable &gpuSymbols) {
    if (gpuSymbols.lookup(get.getName()))
      return success();
    auto global = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
        func, get.getNameAttr());
    if (!global)
      return get.emitError("cannot map to the GPU: unknown global");
    OpBuilder b(gpuModule.getBodyRegion());
    b.setInsertionPointToStart(gpuModule.getBody());
    gpuSymbols.insert(b.clone(*global.getOperation()));
    return success();
  }
};

} // namespace

} // namespace mlir::gfl
