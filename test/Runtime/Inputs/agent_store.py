"""Two workers started as torchrun (PyTorch 2.x) starts them: its agent
already listens on MASTER_PORT (its own store, in its PyTorch's protocol)
and sets TORCHELASTIC_USE_AGENT_STORE=True. Here a plain socket holds the
port. Prints each worker's exit status; both must train.

  agent_store.py GFL-RUN ARTIFACT DIR
"""
import os
import socket
import subprocess
import sys

gfl_run, artifact, out = sys.argv[1:4]
agent = socket.socket()
agent.bind(("127.0.0.1", 0))
agent.listen(4)
port = agent.getsockname()[1]
procs = []
for rank in (0, 1):
    env = dict(os.environ, RANK=str(rank), WORLD_SIZE="2",
               LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
               MASTER_PORT=str(port), TORCHELASTIC_USE_AGENT_STORE="True",
               TORCHELASTIC_RESTART_COUNT="0", OMP_NUM_THREADS="1")
    procs.append(subprocess.Popen(
        [gfl_run, "train", artifact, "--out", out, "--iterations", "20",
         "--batch", "16", "--quiet", "--dist-timeout", "30"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
for rank, p in enumerate(procs):
    _, err = p.communicate(timeout=120)
    print("worker %d exit %d" % (rank, p.returncode))
    sys.stdout.write(err)
