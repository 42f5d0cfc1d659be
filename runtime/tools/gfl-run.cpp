//===- gfl-run.cpp - Train, sample, evaluate and inspect artifacts --------===//
//
//   gfl-run train  ARTIFACT [--device cpu|cuda] [--cuda-graph on|off]
//                  [--out DIR] [--iterations N] [--batch N] [--seed N]
//                  [--checkpoint FILE] [--resume] [--set K=V]
//   gfl-run sample ARTIFACT --checkpoint FILE -n N -o FILE.csv
//   gfl-run eval   ARTIFACT --checkpoint FILE
//   gfl-run info   ARTIFACT
//
// Errors in the command line, the artifact or a checkpoint give one line on
// stderr and exit status 2.
//
//===----------------------------------------------------------------------===//

#include "gfl/Runtime/Trainer.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

using namespace gfl;

namespace {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const char *kUsage =
    "usage: gfl-run train|sample|eval|info ARTIFACT [options]\n"
    "  --device cpu|cuda     where to run (cpu)\n"
    "  --cuda-graph on|off   replay each training iteration from one CUDA\n"
    "                        graph where shapes allow (on; GPU only)\n"
    "  --out DIR             metrics.jsonl and checkpoint.pt (run)\n"
    "  --iterations N        --batch N        --seed N\n"
    "  --checkpoint FILE     checkpoint to write (train) or read\n"
    "  --resume              continue training from the checkpoint\n"
    "  --set NAME=VALUE      batch, iterations, seed, lr, epsilon,\n"
    "                        temperature, eval_every\n"
    "  -n N  -o FILE.csv     number of samples and output (sample)\n"
    "  --quiet               no progress output\n"
    "  --profile             print the time per training phase (stderr)\n";

struct Options {
  std::string command, artifact, device = "cpu", out = "run", checkpoint,
                                 output;
  bool resume = false, quiet = false, profile = false, cudaGraph = true;
  std::optional<int64_t> iterations, batch, seed, samples;
  std::vector<std::pair<std::string, std::string>> sets;
};

int64_t parseInt(const std::string &flag, const std::string &v) {
  char *end = nullptr;
  errno = 0;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end || errno)
    throw UsageError(flag + " expects an integer, got '" + v + "'");
  return x;
}

double parseDouble(const std::string &flag, const std::string &v) {
  char *end = nullptr;
  errno = 0;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end || errno)
    throw UsageError(flag + " expects a number, got '" + v + "'");
  return x;
}

Options parse(int argc, char **argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size())
        throw UsageError(a + " needs a value");
      return args[++i];
    };
    if (a == "--device")
      o.device = value();
    else if (a == "--cuda-graph") {
      std::string v = value();
      if (v != "on" && v != "off")
        throw UsageError("--cuda-graph expects on or off, got '" + v + "'");
      o.cudaGraph = v == "on";
    } else if (a == "--out")
      o.out = value();
    else if (a == "--checkpoint")
      o.checkpoint = value();
    else if (a == "--resume")
      o.resume = true;
    else if (a == "--quiet")
      o.quiet = true;
    else if (a == "--profile")
      o.profile = true;
    else if (a == "--iterations")
      o.iterations = parseInt(a, value());
    else if (a == "--batch")
      o.batch = parseInt(a, value());
    else if (a == "--seed")
      o.seed = parseInt(a, value());
    else if (a == "-n")
      o.samples = parseInt(a, value());
    else if (a == "-o")
      o.output = value();
    else if (a == "--set") {
      std::string kv = value();
      size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        throw UsageError("--set expects NAME=VALUE, got '" + kv + "'");
      o.sets.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    } else if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      std::exit(0);
    } else if (!a.empty() && a[0] == '-')
      throw UsageError("unknown option '" + a + "'");
    else
      positional.push_back(a);
  }
  if (positional.size() != 2)
    throw UsageError("expected a command and an artifact");
  o.command = positional[0];
  o.artifact = positional[1];
  static const std::set<std::string> commands = {"train", "sample", "eval",
                                                 "info"};
  if (!commands.count(o.command))
    throw UsageError("unknown command '" + o.command +
                     "' (train, sample, eval or info)");
  if (o.device != "cpu" && o.device != "cuda")
    throw UsageError("unknown device '" + o.device + "' (cpu or cuda)");
  return o;
}

/// Applies --set to the training spec; params are compiled in.
void applySets(Program &p, const Options &o) {
  TrainSpec &t = p.train();
  std::set<std::string> params;
  for (const std::string &n : p.paramNames())
    params.insert(n);
  for (const auto &[k, v] : o.sets) {
    std::string key = k.rfind("train.", 0) == 0 ? k.substr(6) : k;
    if (key == "batch")
      t.batch = parseInt("--set batch", v);
    else if (key == "iterations")
      t.iterations = parseInt("--set iterations", v);
    else if (key == "seed")
      t.seed = parseInt("--set seed", v);
    else if (key == "eval_every")
      t.evalEvery = parseInt("--set eval_every", v);
    else if (key == "lr")
      t.optimizer.args["lr"] = parseDouble("--set lr", v);
    else if (key == "epsilon")
      t.epsilon = parseDouble("--set epsilon", v);
    else if (key == "temperature")
      t.temperature = parseDouble("--set temperature", v);
    else if (params.count(k))
      throw UsageError("param '" + k +
                       "' is compiled into the artifact (it may change "
                       "shapes or constants); recompile with gflc --set " +
                       k + "=" + v);
    else
      throw UsageError("--set: unknown setting '" + k + "'");
  }
  if (o.iterations)
    t.iterations = *o.iterations;
  if (o.batch)
    t.batch = *o.batch;
  if (o.seed)
    t.seed = *o.seed;
  if (t.batch < 1 || t.iterations < 0)
    throw UsageError("batch must be at least 1 and iterations at least 0");
  if (t.epsilon < 0 || t.epsilon > 1 || !(t.temperature > 0))
    throw UsageError("epsilon must be in [0, 1] and temperature positive");
}

void printMetrics(const Metrics &m) { std::cout << m.json() << std::endl; }

int info(Program &p) {
  const EnvSpec &e = p.env();
  std::cout << "artifact     " << p.path() << "\n"
            << "environment  " << e.name << " (" << e.fields.size()
            << " state field(s), " << e.numActions << " actions, "
            << e.featureSize << " features"
            << (e.enumerable ? ", " + std::to_string(e.stateCount) + " states"
                             : std::string(", not enumerable"))
            << ")\n";
  for (const NetSpec &n : p.nets()) {
    std::cout << "network      " << n.name << ": " << n.kind;
    if (n.kind == "mlp") {
      std::cout << " " << n.input << "(" << n.inputSize << ") ->";
      for (int64_t h : n.hidden)
        std::cout << " " << h;
      std::cout << " -> " << n.output << "(" << n.outputSize << "), "
                << n.activation;
    }
    std::cout << "\n";
  }
  const TrainSpec &t = p.train();
  if (!t.objective.empty())
    std::cout << "training     objective " << t.objective << ", batch "
              << t.batch << ", " << t.iterations << " iterations, seed "
              << t.seed << "\n";
  return 0;
}

int run(const Options &o) {
  std::string error;
  std::unique_ptr<Program> program = Program::load(o.artifact, error);
  if (!program)
    throw UsageError(error);
  applySets(*program, o);
  if (o.command == "info")
    return info(*program);
  try {
    program->useDevice(o.device == "cuda" ? torch::Device(torch::kCUDA, 0)
                                          : torch::Device(torch::kCPU));
  } catch (const std::exception &e) {
    throw UsageError(e.what());
  }

  TrainerOptions topts;
  topts.outDir = o.out;
  topts.checkpoint = o.checkpoint;
  topts.resume = o.resume;
  topts.progress = !o.quiet;
  topts.profile = o.profile;
  topts.cudaGraph = o.cudaGraph;
  Trainer trainer(*program, topts);
  if (o.command == "train") {
    printMetrics(trainer.run());
    if (o.profile)
      std::cerr << "profile " << trainer.profile().json() << std::endl;
    return 0;
  }
  if (o.checkpoint.empty())
    throw UsageError(o.command + " needs --checkpoint FILE");
  int64_t iteration = trainer.loadCheckpoint(o.checkpoint);
  if (o.command == "eval") {
    Metrics m = trainer.evaluate(iteration, 0);
    Rollout r = trainer.rollout(iteration, program->train().batch);
    torch::Tensor rewards = r.logReward.exp();
    m.meanReward = rewards.mean().item<double>();
    int64_t k = std::min<int64_t>(10, rewards.size(0));
    m.topkReward = std::get<0>(rewards.topk(k)).mean().item<double>();
    printMetrics(m);
    return 0;
  }
  // sample
  if (!o.samples || *o.samples < 1 || o.output.empty())
    throw UsageError("sample needs -n N (at least 1) and -o FILE.csv");
  Rollout r = trainer.rollout(iteration, *o.samples);
  std::ofstream csv(o.output);
  if (!csv)
    throw UsageError("cannot write '" + o.output + "'");
  const EnvSpec &e = program->env();
  State final;
  for (const torch::Tensor &t : r.final)
    final.push_back(t.cpu());
  torch::Tensor logReward = r.logReward.cpu();
  for (const FieldSpec &f : e.fields) {
    int64_t numel = 1;
    for (int64_t d : f.shape)
      numel *= d;
    for (int64_t i = 0; i < numel; ++i)
      csv << f.name << (numel > 1 ? "_" + std::to_string(i) : "") << ",";
  }
  csv << "log_reward\n";
  for (int64_t row = 0; row < *o.samples; ++row) {
    for (size_t f = 0; f < e.fields.size(); ++f) {
      torch::Tensor v = final[f][row].reshape({-1}).to(torch::kFloat64);
      auto a = v.accessor<double, 1>();
      for (int64_t i = 0; i < v.size(0); ++i)
        csv << a[i] << ",";
    }
    csv << logReward[row].item<float>() << "\n";
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  try {
    return run(parse(argc, argv));
  } catch (const UsageError &e) {
    std::cerr << "gfl-run: error: " << e.what() << "\n";
    return 2;
  } catch (const c10::Error &e) {
    std::cerr << "gfl-run: error: " << e.what_without_backtrace() << "\n";
    return 2;
  } catch (const std::exception &e) {
    std::cerr << "gfl-run: error: " << e.what() << "\n";
    return 2;
  }
}
