//===- LocalLaunch.cpp - Start the workers of a one-machine run -----------===//

#include "gfl/Runtime/LocalLaunch.h"

#include <arpa/inet.h>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

extern char **environ;

namespace gfl {

namespace {

volatile std::sig_atomic_t forwardedSignal = 0;

void rememberSignal(int sig) { forwardedSignal = sig; }

/// How a worker ended, in words, and the launcher's exit status for it.
std::pair<std::string, int> describeExit(int status) {
  if (WIFEXITED(status))
    return {"exited with status " + std::to_string(WEXITSTATUS(status)),
            WEXITSTATUS(status)};
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char *name = strsignal(sig);
    return {"was killed by signal " + std::to_string(sig) +
                (name ? std::string(" (") + name + ")" : std::string()),
            2};
  }
  return {"ended", 2};
}

} // namespace

int freeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    throw std::runtime_error(std::string("cannot open a socket: ") +
                             std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) != 0) {
    int err = errno;
    close(fd);
    throw std::runtime_error(std::string("cannot find a free port: ") +
                             std::strerror(err));
  }
  close(fd);
  return ntohs(a.sin_port);
}

int launchLocalWorkers(int workers, const std::string &program,
                       const std::vector<std::string> &args) {
  int port = freeLoopbackPort();
  // The cores are shared: each worker gets its part for LibTorch's threads
  // (unless the user said otherwise), or the workers oversubscribe them.
  std::string threads = std::to_string(
      std::max(1u, std::thread::hardware_concurrency() / unsigned(workers)));
  std::vector<pid_t> pids;
  auto stopAll = [&](int sig) {
    for (pid_t p : pids)
      if (p > 0)
        kill(p, sig);
  };
  for (int rank = 0; rank < workers; ++rank) {
    pid_t pid = fork();
    if (pid < 0) {
      int err = errno;
      stopAll(SIGKILL);
      throw std::runtime_error(std::string("cannot start a worker: ") +
                               std::strerror(err));
    }
    if (pid == 0) {
      setenv("RANK", std::to_string(rank).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(workers).c_str(), 1);
      setenv("LOCAL_WORLD_SIZE", std::to_string(workers).c_str(), 1);
      setenv("MASTER_ADDR", "127.0.0.1", 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      setenv("OMP_NUM_THREADS", threads.c_str(), /*overwrite=*/0);
      std::vector<char *> argv{const_cast<char *>(program.c_str())};
      for (const std::string &a : args)
        argv.push_back(const_cast<char *>(a.c_str()));
      argv.push_back(nullptr);
      execve(program.c_str(), argv.data(), environ);
      std::fprintf(stderr, "gfl-run: error: cannot start worker %d: %s\n", rank,
                   std::strerror(errno));
      _exit(127);
    }
    pids.push_back(pid);
  }
  // Ctrl-C or a job scheduler's SIGTERM reaches the workers too.
  struct sigaction sa {};
  sa.sa_handler = rememberSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  int running = workers, result = 0;
  bool stopping = false;
  auto stopDeadline = std::chrono::steady_clock::time_point::max();
  while (running > 0) {
    if (forwardedSignal && !stopping) {
      stopAll(forwardedSignal);
      stopping = true;
      stopDeadline =
          std::chrono::steady_clock::now() + std::chrono::seconds(10);
      result = 2;
    }
    if (stopping && std::chrono::steady_clock::now() > stopDeadline) {
      stopAll(SIGKILL);
      stopDeadline = std::chrono::steady_clock::time_point::max();
    }
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    if (pid < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    int rank = -1;
    for (int r = 0; r < workers; ++r)
      if (pids[r] == pid) {
        rank = r;
        pids[r] = -1;
      }
    if (rank < 0)
      continue;
    --running;
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (ok || stopping)
      continue;
    auto [how, code] = describeExit(status);
    std::fprintf(stderr,
                 "gfl-run: error: worker %d of %d %s; stopping the others\n",
                 rank, workers, how.c_str());
    result = code == 0 ? 2 : code;
    stopping = true;
    stopAll(SIGTERM);
    stopDeadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  }
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  return result;
}

} // namespace gfl
