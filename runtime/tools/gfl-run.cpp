//===- gfl-run.cpp - Train, sample, evaluate and inspect artifacts --------===//
//
//   gfl-run train  ARTIFACT [--device cpu|cuda] [--cuda-graph on|off]
//                  [--out DIR] [--iterations N] [--batch N] [--seed N]
//                  [--checkpoint FILE] [--resume] [--until N] [--set K=V]
//                  [--env-check warn|error|off]
//                  [--nproc N] [--backend gloo|nccl] [--dist-timeout S]
//   gfl-run sample ARTIFACT --checkpoint FILE -n N -o FILE.csv [--cond K=V]
//   gfl-run sample ARTIFACT --checkpoint FILE --backward FROM.csv -o FILE.csv
//   gfl-run eval   ARTIFACT --checkpoint FILE [--cond K=V]
//   gfl-run info   ARTIFACT
//   gfl-run check  ARTIFACT
//
// Errors in the command line, the artifact or a checkpoint give one line on
// stderr and exit status 2. `check` exits 1 when it finds a problem.
//
//===----------------------------------------------------------------------===//

#include "gfl/Runtime/ConditionSampler.h"
#include "gfl/Runtime/EnvCheck.h"
#include "gfl/Runtime/LocalLaunch.h"
#include "gfl/Runtime/Trainer.h"
#include "gfl/Runtime/WorkerGroup.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include <climits>
#ifdef __GLIBC__
#include <malloc.h>
#endif
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
    "usage: gfl-run train|sample|eval|info|check ARTIFACT [options]\n"
    "  --device cpu|cuda     where to run (cpu)\n"
    "  --cuda-graph on|off   replay each training iteration from one CUDA\n"
    "                        graph where shapes allow (on; GPU only)\n"
    "  --out DIR             metrics.jsonl and checkpoint.pt (run)\n"
    "  --iterations N        --batch N        --seed N\n"
    "  --checkpoint FILE     checkpoint to write (train) or read\n"
    "  --resume              continue training from the checkpoint\n"
    "  --until N             stop after iteration N (checkpoint written);\n"
    "                        schedules still span all the iterations\n"
    "  --set NAME=VALUE      batch, iterations, seed, lr, epsilon,\n"
    "                        temperature, eval_every\n"
    "  -n N  -o FILE.csv     number of samples and output (sample)\n"
    "  --backward FROM.csv   sample: trajectories drawn backward with P_B\n"
    "                        from the terminal states in FROM.csv\n"
    "  --cond NAME=V[,V..]   the condition to evaluate and sample at\n"
    "  --quiet               no progress output\n"
    "  --profile             print the time per training phase (stderr)\n"
    "  --env-check warn|error|off\n"
    "                        train: what the environment check at the start\n"
    "                        does with a problem it finds (warn)\n"
    "  --nproc N             train: start N local workers (data-parallel,\n"
    "                        the batch split between them); under torchrun\n"
    "                        or SLURM, RANK, WORLD_SIZE, MASTER_ADDR and\n"
    "                        MASTER_PORT say where a worker stands instead\n"
    "  --backend gloo|nccl   collectives (gloo on the CPU, nccl on a GPU)\n"
    "  --dist-timeout S      seconds a worker waits for the others (600)\n";

struct Options {
  std::string command, artifact, device = "cpu", out = "run", checkpoint,
                                 output, backwardFrom;
  std::string envCheck = "warn";
  int nproc = 1;
  std::string backend;
  int64_t distTimeout = 600;
  bool resume = false, quiet = false, profile = false, cudaGraph = true;
  std::optional<int64_t> iterations, batch, seed, samples, until;
  std::vector<std::pair<std::string, std::string>> sets, conds;
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
    } else if (a == "--env-check") {
      o.envCheck = value();
      if (o.envCheck != "warn" && o.envCheck != "error" && o.envCheck != "off")
        throw UsageError("--env-check expects warn, error or off, got '" +
                         o.envCheck + "'");
    } else if (a == "--nproc") {
      int64_t n = parseInt(a, value());
      if (n < 1 || n > 1024)
        throw UsageError("--nproc expects a number of workers in [1, 1024]");
      o.nproc = static_cast<int>(n);
    } else if (a == "--backend") {
      o.backend = value();
      if (o.backend != "gloo" && o.backend != "nccl")
        throw UsageError("--backend expects gloo or nccl, got '" + o.backend +
                         "'");
    } else if (a == "--dist-timeout") {
      o.distTimeout = parseInt(a, value());
      if (o.distTimeout < 1 || o.distTimeout > INT_MAX / 1000)
        throw UsageError("--dist-timeout expects a positive number of "
                         "seconds");
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
    else if (a == "--until") {
      o.until = parseInt(a, value());
      if (*o.until < 1)
        throw UsageError("--until expects a positive iteration");
    } else if (a == "--batch")
      o.batch = parseInt(a, value());
    else if (a == "--seed")
      o.seed = parseInt(a, value());
    else if (a == "-n")
      o.samples = parseInt(a, value());
    else if (a == "-o")
      o.output = value();
    else if (a == "--backward")
      o.backwardFrom = value();
    else if (a == "--cond") {
      std::string kv = value();
      size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        throw UsageError("--cond expects NAME=VALUE[,VALUE...], got '" + kv +
                         "'");
      o.conds.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    } else if (a == "--set") {
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
                                                 "info", "check"};
  if (!commands.count(o.command))
    throw UsageError("unknown command '" + o.command +
                     "' (train, sample, eval, info or check)");
  if (o.device != "cpu" && o.device != "cuda")
    throw UsageError("unknown device '" + o.device + "' (cpu or cuda)");
  if (o.nproc > 1 && o.command != "train")
    throw UsageError("--nproc is for train");
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
    else if (key == "lr") {
      double lr = parseDouble("--set lr", v);
      if (!(lr > 0) || !std::isfinite(lr))
        throw UsageError("--set lr: must be positive and finite, got '" + v +
                         "'");
      t.optimizer.args["lr"] = lr;
    } else if (key == "epsilon")
      t.sampler.epsilon = Schedule::constant(parseDouble("--set epsilon", v));
    else if (key == "temperature")
      t.sampler.temperature =
          Schedule::constant(parseDouble("--set temperature", v));
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
  const SamplerSpec &sp = t.sampler;
  auto inUnit = [](double x) { return x >= 0 && x <= 1; };
  if (!inUnit(sp.epsilon.start) || !inUnit(sp.epsilon.end) ||
      !(sp.temperature.start > 0) || !(sp.temperature.end > 0))
    throw UsageError("epsilon must be in [0, 1] and temperature positive");
}

/// `gfl-run check`: every finding with its count and one example.
int check(const Program &p) {
  EnvCheckReport r = checkEnvironment(p);
  if (!r.skipped.empty()) {
    std::cout << "check skipped: " << r.skipped << "\n";
    return 0;
  }
  std::cout << "checked " << r.states << " states: " << r.reachable
            << " reachable from s0, " << r.terminals << " terminal\n";
  for (const EnvFinding &f : r.findings)
    std::cout << f.kind << ": " << f.count << " state(s), e.g. " << f.example
              << "\n";
  std::cout << (r.findings.empty() ? "no problems found"
                                   : std::to_string(r.findings.size()) +
                                         " kind(s) of problem found")
            << std::endl;
  return r.findings.empty() ? 0 : 1;
}

/// The check at the start of `train`: one warning per finding, or the
/// first finding as the error with --env-check error.
void checkBeforeTraining(const Program &p, const Options &o) {
  if (o.envCheck == "off" || !p.env().enumerable ||
      p.env().stateCount > kMaxCheckedStates)
    return;
  EnvCheckReport r;
  try {
    r = checkEnvironment(p);
  } catch (const std::exception &e) { // e.g. out of memory
    if (o.envCheck == "error")
      throw;
    std::cerr << "gfl-run: warning: environment check skipped: " << e.what()
              << "\n";
    return;
  }
  for (const EnvFinding &f : r.findings) {
    std::string line = "environment check: " + f.kind + ": " +
                       std::to_string(f.count) + " state(s), e.g. " + f.example;
    if (o.envCheck == "error")
      throw UsageError(line + " (gfl-run check lists every problem)");
    std::cerr << "gfl-run: warning: " << line << "\n";
  }
  if (!r.findings.empty())
    std::cerr << "gfl-run: warning: training anyway; --env-check error "
                 "makes these errors\n";
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
      std::string inputs;
      for (const std::string &i : n.inputs)
        inputs += (inputs.empty() ? "" : "+") + i;
      std::cout << " " << inputs << "(" << n.inputSize << ") ->";
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

/// The CSV header of a state's fields: `x_0,x_1,...` for tensor fields.
std::vector<std::string> fieldColumns(const EnvSpec &e) {
  std::vector<std::string> cols;
  for (const FieldSpec &f : e.fields) {
    int64_t numel = 1;
    for (int64_t d : f.shape)
      numel *= d;
    for (int64_t i = 0; i < numel; ++i)
      cols.push_back(f.name + (numel > 1 ? "_" + std::to_string(i) : ""));
  }
  return cols;
}

/// Row `row` of state `s` as CSV cells (each followed by a comma).
void writeState(std::ostream &csv, const State &s, int64_t row) {
  for (const torch::Tensor &field : s) {
    torch::Tensor v = field[row].reshape({-1}).to(torch::kFloat64);
    auto a = v.accessor<double, 1>();
    for (int64_t i = 0; i < v.size(0); ++i)
      csv << a[i] << ",";
  }
}

/// Terminal states from a CSV in the format `gfl-run sample` writes (a
/// header with the field columns, other columns ignored). Throws UsageError
/// with the file, line and reason.
State readStates(const Program &p, const std::string &path) {
  std::ifstream in(path);
  if (!in)
    throw UsageError("cannot read '" + path + "'");
  std::string line;
  if (!std::getline(in, line))
    throw UsageError("'" + path + "' is empty");
  std::vector<std::string> header;
  {
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');)
      header.push_back(cell);
  }
  std::vector<size_t> columnOf;
  for (const std::string &c : fieldColumns(p.env())) {
    auto it = std::find(header.begin(), header.end(), c);
    if (it == header.end())
      throw UsageError("'" + path + "' has no column '" + c + "'");
    columnOf.push_back(static_cast<size_t>(it - header.begin()));
  }
  std::vector<std::vector<double>> rows;
  for (int64_t lineNo = 2; std::getline(in, line); ++lineNo) {
    if (line.empty())
      continue;
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');)
      cells.push_back(cell);
    std::vector<double> row;
    for (size_t col : columnOf) {
      if (col >= cells.size())
        throw UsageError(path + ":" + std::to_string(lineNo) +
                         ": too few columns");
      row.push_back(parseDouble(path + ":" + std::to_string(lineNo) + ": '" +
                                    header[col] + "'",
                                cells[col]));
    }
    rows.push_back(std::move(row));
  }
  if (rows.empty())
    throw UsageError("'" + path + "' has no states");
  int64_t n = static_cast<int64_t>(rows.size());
  State s = p.emptyState(n);
  size_t col = 0;
  for (size_t f = 0; f < s.size(); ++f) {
    const FieldSpec &spec = p.env().fields[f];
    int64_t numel = s[f].numel() / n;
    torch::Tensor flat = torch::empty({n, numel}, torch::kFloat64);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t i = 0; i < numel; ++i) {
        double v = rows[r][col + i];
        if (spec.dtype != torch::kFloat32 && std::floor(v) != v)
          throw UsageError(path + ":" + std::to_string(r + 2) + ": '" +
                           header[columnOf[col + i]] + "' is not an integer");
        flat[r][i] = v;
      }
    col += numel;
    s[f].copy_(flat.view(s[f].sizes()).to(s[f].scalar_type()));
  }
  return s;
}

/// `sample --backward`: a trajectory per terminal state, drawn backward
/// with P_B, one CSV row per visited state with the action taken from it
/// and its log P_F and log P_B.
int sampleBackward(Program &p, Trainer &trainer, int64_t iteration,
                   const Options &o) {
  State x = readStates(p, o.backwardFrom);
  const EnvSpec &e = p.env();
  int64_t n = x[0].size(0);
  // Every state must be one where a trajectory can end.
  for (auto &field : x)
    field = field.to(p.device());
  torch::Tensor ok = trainer.sampler().backward().canEnd(x).cpu();
  for (int64_t r = 0; r < n; ++r)
    if (!ok[r].item<bool>())
      throw UsageError(o.backwardFrom + ":" + std::to_string(r + 2) +
                       ": no trajectory ends in this state");
  trainer.sampler().setIteration(iteration);
  BackwardDraw draw;
  draw.iteration = trainer.sampler().iteration();
  draw.stream = stream::kBackward;
  if (!o.conds.empty() || !e.conditions.empty()) {
    torch::Tensor c = ConditionSampler::parse(p, o.conds);
    draw.cond = c.reshape({1, -1}).expand({n, -1}).contiguous();
  }
  torch::Tensor logPb;
  Rollout r = trainer.sampler().backward().sample(x, draw, &logPb);
  StepLogProbs lp = trainer.logProbs(r);
  std::ofstream csv(o.output);
  if (!csv)
    throw UsageError("cannot write '" + o.output + "'");
  csv << "trajectory,step,";
  for (const std::string &c : fieldColumns(e))
    csv << c << ",";
  csv << "action,log_pf,log_pb\n";
  torch::Tensor actions = r.actions.cpu(), counts = r.n.cpu();
  torch::Tensor logPf = lp.forward.cpu(), logPbC = logPb.cpu();
  std::vector<State> states;
  for (const State &s : r.states) {
    State host;
    for (const torch::Tensor &t : s)
      host.push_back(t.cpu());
    states.push_back(std::move(host));
  }
  for (int64_t b = 0; b < n; ++b) {
    int64_t moves = counts[b].item<int32_t>();
    for (int64_t k = 0; k <= moves; ++k) {
      csv << b << "," << k << ",";
      writeState(csv, states[k], b);
      csv << actions[b][k].item<int32_t>() << "," << logPf[b][k].item<float>()
          << "," << logPbC[b][k].item<float>() << "\n";
    }
  }
  return 0;
}

/// The launch this process is a worker of (train under torchrun, SLURM or
/// --nproc); std::nullopt in one process.
std::optional<LaunchEnvironment> launchOf(const Options &o) {
  if (o.command != "train")
    return std::nullopt;
  std::optional<LaunchEnvironment> launch;
  try {
    launch = LaunchEnvironment::read();
  } catch (const std::exception &e) {
    throw UsageError(e.what());
  }
  if (!launch || launch->worldSize == 1)
    return std::nullopt;
  std::string why;
  if (!distributedAvailable(&why))
    throw UsageError(why);
  return launch;
}

int run(const Options &o) {
  std::string error;
  std::unique_ptr<Program> program = Program::load(o.artifact, error);
  if (!program)
    throw UsageError(error);
  applySets(*program, o);
  if (o.command == "info")
    return info(*program);
  std::optional<LaunchEnvironment> launch = launchOf(o);
  bool leader = !launch || launch->rank == 0; // reports and writes files
  try {
    // One GPU per worker on a machine, by local rank.
    int gpu = 0;
    if (o.device == "cuda" && launch && torch::cuda::device_count() > 0)
      gpu = launch->localRank % static_cast<int>(torch::cuda::device_count());
    program->useDevice(o.device == "cuda" ? torch::Device(torch::kCUDA, gpu)
                                          : torch::Device(torch::kCPU));
  } catch (const std::exception &e) {
    throw UsageError(e.what());
  }
  // The condition to evaluate and sample at (the declared values where
  // none is given).
  torch::Tensor cond;
  try {
    cond = ConditionSampler::parse(*program, o.conds);
  } catch (const std::exception &e) {
    throw UsageError(e.what());
  }

  if (o.command == "check")
    return check(*program);
  if (o.command == "train" && leader)
    checkBeforeTraining(*program, o);
  std::unique_ptr<WorkerGroup> workers;
  if (launch) {
    WorkerGroupOptions wo;
    wo.backend = o.backend;
    wo.timeout = std::chrono::seconds(o.distTimeout);
    workers = std::make_unique<WorkerGroup>(*launch, wo, program->device());
  }

  TrainerOptions topts;
  topts.outDir = o.out;
  topts.checkpoint = o.checkpoint;
  topts.resume = o.resume;
  topts.until = o.until.value_or(0);
  topts.progress = !o.quiet && leader;
  topts.profile = o.profile;
  topts.cudaGraph = o.cudaGraph;
  topts.evalCondition = cond;
  topts.workers = workers.get();
  Trainer trainer(*program, topts);
  if (o.command == "train") {
    Metrics m = trainer.run();
    if (!leader)
      return 0;
    printMetrics(m);
    if (o.profile) {
      trainer.measureGemmFloor();
      std::cerr << "profile " << trainer.profile().json() << std::endl;
    }
    return 0;
  }
  if (o.checkpoint.empty())
    throw UsageError(o.command + " needs --checkpoint FILE");
  int64_t iteration = trainer.loadCheckpoint(o.checkpoint);
  if (o.command == "eval") {
    Metrics m = trainer.evaluate(iteration, 0, cond);
    Rollout r = trainer.rollout(iteration, program->train().batch, 0, cond);
    torch::Tensor rewards = r.logReward.exp();
    m.meanReward = rewards.mean().item<double>();
    int64_t k = std::min<int64_t>(10, rewards.size(0));
    m.topkReward = std::get<0>(rewards.topk(k)).mean().item<double>();
    printMetrics(m);
    return 0;
  }
  // sample
  if (o.output.empty())
    throw UsageError("sample needs -o FILE.csv");
  if (!o.backwardFrom.empty())
    return sampleBackward(*program, trainer, iteration, o);
  if (!o.samples || *o.samples < 1)
    throw UsageError("sample needs -n N (at least 1) and -o FILE.csv");
  Rollout r = trainer.rollout(iteration, *o.samples, 0, cond);
  std::ofstream csv(o.output);
  if (!csv)
    throw UsageError("cannot write '" + o.output + "'");
  const EnvSpec &e = program->env();
  State final;
  for (const torch::Tensor &t : r.final)
    final.push_back(t.cpu());
  torch::Tensor logReward = r.logReward.cpu();
  for (const std::string &c : fieldColumns(e))
    csv << c << ",";
  csv << "log_reward\n";
  for (int64_t row = 0; row < *o.samples; ++row) {
    writeState(csv, final, row);
    csv << logReward[row].item<float>() << "\n";
  }
  return 0;
}

} // namespace

/// `gfl-run train --nproc N`: the launcher of N local workers, each this
/// program with the same arguments but --nproc.
int launch(const Options &o, int argc, char **argv) {
  if (std::getenv("WORLD_SIZE"))
    throw UsageError("--nproc starts its own workers; under a launcher that "
                     "sets WORLD_SIZE (torchrun, srun), leave it out");
  std::string why;
  if (!distributedAvailable(&why))
    throw UsageError(why);
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--nproc") {
      ++i;
      continue;
    }
    args.push_back(argv[i]);
  }
  std::error_code ec;
  std::string self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec)
    throw UsageError("cannot find this program to start its workers: " +
                     ec.message());
  return launchLocalWorkers(o.nproc, self, args);
}

/// A training step frees and allocates the same tensors every iteration.
/// With glibc's defaults, blocks of 128 KiB and more are mapped and unmapped
/// each time and the heap's top is trimmed and grown again: page faults
/// that cost the CPU trainer a third of its time at batch 128
/// (bench/hypergrid.py). Freed memory stays with the process instead (the
/// resident size stays at its peak, which --profile reports).
void keepFreedMemory() {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 32 << 20); // glibc's largest
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

int main(int argc, char **argv) {
  keepFreedMemory();
  try {
    Options o = parse(argc, argv);
    if (o.nproc > 1)
      return launch(o, argc, argv);
    return run(o);
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
