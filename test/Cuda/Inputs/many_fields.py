"""Writes a .gfl program whose env has N state fields (f1.. as int[1], so
that each takes a rank-2 descriptor): a valid program whose CUDA kernels
take many parameters."""
import sys

n = int(sys.argv[1])
fields = ["  state f0: int in 0..2 = 0"]
fields += ["  state f%d: int[1] in 0..2 = 0" % i for i in range(1, n)]
print("""env many {
%s
  action flip requires f0 == 0 { f0 = 1 }
  stop
  reward 1.0 + f0
  features onehot(f0, 2)
}
model {
  pf   = mlp(features -> actions, hidden [16], act relu)
  pb   = uniform
  logZ = scalar(0.0)
}
objective tb(t: trajectory) = (logZ + sum(t.log_pf) - sum(t.log_pb) - t.log_r)^2
train {
  objective tb
  batch 16
  iterations 10
  optimizer adam(lr 1e-3)
  seed 1
}""" % "\n".join(fields))
