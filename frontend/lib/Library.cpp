//===- Library.cpp - Objectives from the standard library -----------------===//

#include "gfl/Frontend/Library.h"

namespace gfl {

std::optional<std::string> trainObjectiveName(const Program &program,
                                              const Overrides &overrides) {
  if (auto it = overrides.find("train.objective"); it != overrides.end())
    return it->second;
  for (const auto &d : program.decls) {
    if (d->kind != DeclKind::Train)
      continue;
    for (const TrainItem &item : static_cast<const TrainDecl &>(*d).items) {
      if (item.key.name != "objective" || !item.value)
        continue;
      if (item.value->kind == ExprKind::Name)
        return static_cast<const NameExpr &>(*item.value).name;
      if (item.value->kind == ExprKind::Call)
        return static_cast<const CallExpr &>(*item.value).callee.name;
    }
  }
  return std::nullopt;
}

bool declaresObjective(const Program &program, const std::string &name) {
  for (const auto &d : program.decls)
    if (d->kind == DeclKind::Objective &&
        static_cast<const ObjectiveDecl &>(*d).name.name == name)
      return true;
  return false;
}

bool importObjective(Program &program, Program &library,
                     const std::string &name) {
  for (auto &d : library.decls) {
    if (!d || d->kind != DeclKind::Objective ||
        static_cast<ObjectiveDecl &>(*d).name.name != name)
      continue;
    program.decls.push_back(std::move(d));
    return true;
  }
  return false;
}

} // namespace gfl
