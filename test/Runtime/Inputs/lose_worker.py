"""Loses a worker of a two-worker training run and reports how the rest end.

  lose_worker.py kill|hang GFL-RUN ARTIFACT DIR: two gfl-run workers started as
    torchrun would; once training is under way rank 1 is killed (SIGKILL) or
    stopped (SIGSTOP). Prints how rank 0 ended and its stderr.
  lose_worker.py launcher GFL-RUN ARTIFACT DIR: gfl-run train --nproc 2; its rank-1
    worker is killed. Prints how the launcher ended and its stderr.
"""
import os
import signal
import socket
import subprocess
import sys
import time

mode, gfl_run, artifact, out = sys.argv[1:5]
timeout = 3 if mode == "hang" else 20
train = [gfl_run, "train", artifact, "--out", out, "--iterations", "100000",
         "--batch", "16", "--set", "eval_every=5", "--quiet",
         "--dist-timeout", str(timeout)]
metrics = os.path.join(out, "metrics.jsonl")


def wait_for_training(procs):
    """Until worker 0 has written a metrics line (training is under way)."""
    deadline = time.time() + 60
    while time.time() < deadline:
        if os.path.exists(metrics) and os.path.getsize(metrics) > 0:
            return
        for p in procs:
            if p.poll() is not None:
                sys.exit("a worker ended early: %s" % p.returncode)
        time.sleep(0.05)
    sys.exit("training did not start")


def report(name, proc, limit):
    try:
        _, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        sys.exit("%s still running after %d s" % (name, limit))
    print("%s exit %d within the timeout" % (name, proc.returncode))
    sys.stdout.write(err)


if mode == "launcher":
    launcher = subprocess.Popen(train + ["--nproc", "2"], stderr=subprocess.PIPE,
                                text=True)
    wait_for_training([launcher])
    children = open("/proc/%d/task/%d/children" % (launcher.pid, launcher.pid)).read().split()
    rank1 = [int(c) for c in children
             if b"RANK=1\0" in open("/proc/%s/environ" % c, "rb").read()]
    assert len(rank1) == 1, children
    os.kill(rank1[0], signal.SIGKILL)
    report("launcher", launcher, timeout + 15)
    sys.exit(0)

s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
procs = []
for rank in (0, 1):
    env = dict(os.environ, RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank),
               MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
               OMP_NUM_THREADS="1")
    procs.append(subprocess.Popen(train, env=env, stderr=subprocess.PIPE,
                                  text=True))
wait_for_training(procs)
os.kill(procs[1].pid, signal.SIGKILL if mode == "kill" else signal.SIGSTOP)
try:
    report("survivor", procs[0], timeout + 15)
finally:
    procs[1].kill()
    procs[1].wait()
