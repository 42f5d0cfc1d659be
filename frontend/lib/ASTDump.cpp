//===- ASTDump.cpp - Textual dump of the AST ------------------------------===//

#include "gfl/Frontend/ASTDump.h"

#include <fmt/format.h>

namespace gfl {

namespace {

class Dumper {
public:
  explicit Dumper(std::ostream &os) : os_(os) {}

  void program(const Program &p) {
    line("Program", SourceRange());
    ++depth_;
    for (const auto &d : p.decls)
      decl(*d);
    --depth_;
  }

private:
  void line(const std::string &text, SourceRange r) {
    std::string indent(depth_ * 2, ' ');
    if (r.isValid())
      os_ << indent << text << " <" << r.begin.line << ':' << r.begin.col
          << ">\n";
    else
      os_ << indent << text << '\n';
  }

  struct Nest {
    unsigned &d;
    explicit Nest(unsigned &d) : d(d) { ++d; }
    ~Nest() { --d; }
  };

  static std::string typeSuffix(const Expr &e) {
    return e.type.isValid() ? " : " + e.type.str() : "";
  }

  void labeled(const char *label, const Expr *e) {
    if (!e)
      return;
    line(label, e->range);
    Nest n(depth_);
    expr(*e);
  }

  void typeSpec(const TypeSpec &t) {
    line("Type " + t.base.name, t.range);
    Nest n(depth_);
    for (const auto &d : t.dims)
      expr(*d);
  }

  void args(const std::vector<CallArg> &as) {
    for (const CallArg &a : as) {
      if (a.keyword) {
        line("Keyword " + a.keyword->name, a.range);
        Nest n(depth_);
        expr(*a.value);
        labeled("Over", a.over.get());
      } else {
        expr(*a.value);
      }
    }
  }

  void expr(const Expr &e) {
    switch (e.kind) {
    case ExprKind::IntLit:
      line(fmt::format("IntLit {}{}", static_cast<const IntLitExpr &>(e).value,
                       typeSuffix(e)),
           e.range);
      return;
    case ExprKind::FloatLit:
      line(fmt::format("FloatLit {}{}",
                       static_cast<const FloatLitExpr &>(e).value,
                       typeSuffix(e)),
           e.range);
      return;
    case ExprKind::BoolLit:
      line(fmt::format("BoolLit {}{}",
                       static_cast<const BoolLitExpr &>(e).value,
                       typeSuffix(e)),
           e.range);
      return;
    case ExprKind::Name:
      line(fmt::format("Name {}{}", static_cast<const NameExpr &>(e).name,
                       typeSuffix(e)),
           e.range);
      return;
    case ExprKind::Unary: {
      auto &u = static_cast<const UnaryExpr &>(e);
      line(fmt::format("Unary '{}'{}", spelling(u.op), typeSuffix(e)), e.range);
      Nest n(depth_);
      expr(*u.operand);
      return;
    }
    case ExprKind::Binary: {
      auto &b = static_cast<const BinaryExpr &>(e);
      line(fmt::format("Binary '{}'{}", spelling(b.op), typeSuffix(e)),
           e.range);
      Nest n(depth_);
      expr(*b.lhs);
      expr(*b.rhs);
      return;
    }
    case ExprKind::Call: {
      auto &c = static_cast<const CallExpr &>(e);
      line(fmt::format("Call {}{}", c.callee.name, typeSuffix(e)), e.range);
      Nest n(depth_);
      args(c.args);
      return;
    }
    case ExprKind::Index: {
      auto &i = static_cast<const IndexExpr &>(e);
      line("Index" + typeSuffix(e), e.range);
      Nest n(depth_);
      expr(*i.base);
      for (const auto &x : i.indices)
        expr(*x);
      return;
    }
    case ExprKind::Member: {
      auto &m = static_cast<const MemberExpr &>(e);
      line(fmt::format("Member .{}{}", m.member.name, typeSuffix(e)), e.range);
      Nest n(depth_);
      expr(*m.base);
      return;
    }
    case ExprKind::ArrayLit: {
      auto &a = static_cast<const ArrayLitExpr &>(e);
      line("Array" + typeSuffix(e), e.range);
      Nest n(depth_);
      for (const auto &x : a.elements)
        expr(*x);
      return;
    }
    case ExprKind::If: {
      auto &i = static_cast<const IfExpr &>(e);
      line("If" + typeSuffix(e), e.range);
      Nest n(depth_);
      expr(*i.cond);
      expr(*i.thenExpr);
      expr(*i.elseExpr);
      return;
    }
    case ExprKind::Block: {
      auto &b = static_cast<const BlockExpr &>(e);
      line("Block" + typeSuffix(e), e.range);
      Nest n(depth_);
      for (const Let &l : b.lets)
        let(l);
      expr(*b.result);
      return;
    }
    case ExprKind::Reduce: {
      auto &r = static_cast<const ReduceExpr &>(e);
      line(fmt::format("Reduce {}{}", r.func.name, typeSuffix(e)), e.range);
      Nest n(depth_);
      for (const ReduceIter &it : r.iters) {
        line("Iter " + it.name.name, it.name.range);
        Nest n2(depth_);
        expr(*it.lo);
        expr(*it.hi);
      }
      expr(*r.body);
      return;
    }
    case ExprKind::Arrow: {
      auto &a = static_cast<const ArrowExpr &>(e);
      line("Arrow", e.range);
      Nest n(depth_);
      expr(*a.from);
      expr(*a.to);
      return;
    }
    }
  }

  void let(const Let &l) {
    line("Let " + l.name.name, l.range);
    Nest n(depth_);
    expr(*l.value);
  }

  void stmts(const std::vector<StmtPtr> &ss) {
    for (const auto &s : ss)
      stmt(*s);
  }

  void stmt(const Stmt &s) {
    switch (s.kind) {
    case StmtKind::Let:
      let(static_cast<const LetStmt &>(s).let);
      return;
    case StmtKind::Assign: {
      auto &a = static_cast<const AssignStmt &>(s);
      line(fmt::format("Assign '{}'", spelling(a.op)), s.range);
      Nest n(depth_);
      expr(*a.target);
      expr(*a.value);
      return;
    }
    case StmtKind::If: {
      auto &i = static_cast<const IfStmt &>(s);
      line("IfStmt", s.range);
      Nest n(depth_);
      expr(*i.cond);
      line("Then", s.range);
      {
        Nest n2(depth_);
        stmts(i.thenBody);
      }
      if (!i.elseBody.empty()) {
        line("Else", s.range);
        Nest n2(depth_);
        stmts(i.elseBody);
      }
      return;
    }
    case StmtKind::For: {
      auto &f = static_cast<const ForStmt &>(s);
      line("ForStmt " + f.iter.name.name, s.range);
      Nest n(depth_);
      expr(*f.iter.lo);
      expr(*f.iter.hi);
      stmts(f.body);
      return;
    }
    }
  }

  void decl(const Decl &d) {
    switch (d.kind) {
    case DeclKind::Param: {
      auto &p = static_cast<const ParamDecl &>(d);
      line("Param " + p.name.name, d.range);
      Nest n(depth_);
      if (p.load)
        line(fmt::format("Load \"{}\"", p.load->path), p.load->range);
      else
        expr(*p.value);
      return;
    }
    case DeclKind::Env:
      env(static_cast<const EnvDecl &>(d));
      return;
    case DeclKind::Model: {
      auto &m = static_cast<const ModelDecl &>(d);
      line("Model", d.range);
      Nest n(depth_);
      for (const NetDecl &net : m.nets) {
        line("Net " + net.name.name, net.range);
        Nest n2(depth_);
        expr(*net.def);
      }
      return;
    }
    case DeclKind::Objective: {
      auto &o = static_cast<const ObjectiveDecl &>(d);
      line("Objective " + o.name.name, d.range);
      Nest n(depth_);
      for (const ObjParam &p : o.params) {
        line("ObjParam " + p.name.name, p.range);
        Nest n2(depth_);
        typeSpec(p.type);
        labeled("Default", p.defaultValue.get());
      }
      expr(*o.body);
      return;
    }
    case DeclKind::Train: {
      auto &t = static_cast<const TrainDecl &>(d);
      line("Train", d.range);
      Nest n(depth_);
      for (const TrainItem &item : t.items) {
        if (item.kind == TrainItemKind::EvalEvery) {
          std::string metrics;
          for (const Ident &m : item.metrics)
            metrics += (metrics.empty() ? "" : ", ") + m.name;
          line("EvalEvery [" + metrics + "]", item.range);
          Nest n2(depth_);
          expr(*item.value);
          continue;
        }
        line("Setting " + item.key.name, item.range);
        Nest n2(depth_);
        if (item.value)
          expr(*item.value);
        for (const ExprPtr &stage : item.stages)
          expr(*stage);
        for (const GroupOverride &g : item.overrides) {
          line("Group " + g.group.name, g.range);
          Nest n3(depth_);
          args(g.args);
        }
      }
      return;
    }
    }
  }

  void env(const EnvDecl &e) {
    line("Env " + e.name.name, e.range);
    Nest n(depth_);
    for (const StateField &f : e.states) {
      line("State " + f.name.name, f.range);
      Nest n2(depth_);
      typeSpec(f.type);
      if (f.lo) {
        line("Domain", SourceRange::merge(f.lo->range, f.hi->range));
        Nest n3(depth_);
        expr(*f.lo);
        expr(*f.hi);
      }
      labeled("Init", f.init.get());
    }
    for (const ConditionDecl &c : e.conditions) {
      line("Condition " + c.name.name, c.range);
      Nest n2(depth_);
      if (c.type)
        typeSpec(*c.type);
      expr(*c.distribution);
      labeled("Value", c.value.get());
    }
    for (const ActionDecl &a : e.actions) {
      line("Action " + a.name.name, a.range);
      Nest n2(depth_);
      for (const ActionParam &p : a.params) {
        line("ActionParam " + p.name.name, p.range);
        Nest n3(depth_);
        expr(*p.lo);
        expr(*p.hi);
      }
      labeled("Requires", a.guard.get());
      line("Body", a.range);
      {
        Nest n3(depth_);
        stmts(a.body);
      }
      if (a.hasUndo) {
        line("Undo", a.range);
        Nest n3(depth_);
        stmts(a.undo);
      }
    }
    if (e.stop) {
      line("Stop", e.stop->range);
      Nest n2(depth_);
      labeled("Requires", e.stop->guard.get());
    }
    if (e.terminal) {
      line("TerminalWhen", e.terminalRange);
      Nest n2(depth_);
      expr(*e.terminal);
    }
    if (e.reward) {
      line(e.rewardIsLog ? "LogReward" : "Reward", e.rewardRange);
      if (e.rewardModel)
        line(fmt::format("Model \"{}\" input", e.rewardModel->path),
             e.rewardModel->range);
      Nest n2(depth_);
      expr(*e.reward);
    }
    if (e.stepReward) {
      line("StepReward", e.stepRewardRange);
      Nest n2(depth_);
      expr(*e.stepReward);
    }
    if (e.features) {
      line("Features", e.featuresRange);
      Nest n2(depth_);
      expr(*e.features);
    }
  }

  std::ostream &os_;
  unsigned depth_ = 0;
};

} // namespace

void dumpAST(const Program &program, std::ostream &os) {
  Dumper(os).program(program);
}

} // namespace gfl
