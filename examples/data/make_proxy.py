"""Trains the reward proxy of examples/proxy.gfl and writes it as a
TorchScript module, data/proxy.pt.

The setting of model-based sequence design: a "lab" scores sequences of 8
tokens over {A, C, G, T} (here a hidden function: a position-specific
score plus an interaction between neighbouring tokens), 2,000 measured
sequences train a small MLP on the one-hot encoding (8 x 4 = 32 inputs),
and the GFlowNet samples in proportion to exp(proxy score). The module
maps a batch [B, 32] to log-rewards [B].

Deterministic (torch.manual_seed). Made with Debian 12's python3-torch
(1.13, the version of the libtorch-dev gfl-run links), so LibTorch 1.13 and
later load it. Run: python3 make_proxy.py
"""
import os

import torch

LENGTH, TOKENS, MEASURED = 8, 4, 2000


def hidden_score(x):
    """The 'lab' measurement of one-hot sequences x [N, LENGTH, TOKENS]."""
    g = torch.Generator().manual_seed(7)
    position = torch.randn(LENGTH, TOKENS, generator=g)
    pair = torch.randn(TOKENS, TOKENS, generator=g) * 0.5
    site = (x * position).sum((1, 2))
    neighbours = torch.einsum("nia,ab,nib->n", x[:, :-1], pair, x[:, 1:])
    return site + neighbours


def main():
    torch.manual_seed(20261130)
    tokens = torch.randint(0, TOKENS, (MEASURED, LENGTH))
    x = torch.nn.functional.one_hot(tokens, TOKENS).float()
    y = hidden_score(x)
    y = (y - y.mean()) / y.std()  # log-rewards of unit spread
    proxy = torch.nn.Sequential(
        torch.nn.Linear(LENGTH * TOKENS, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 1), torch.nn.Flatten(0))
    opt = torch.optim.Adam(proxy.parameters(), lr=3e-3)
    inputs = x.reshape(MEASURED, -1)
    for step in range(1500):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(proxy(inputs), y)
        loss.backward()
        opt.step()
    print("proxy fit: mse %.4f on %d measured sequences" % (loss.item(),
                                                           MEASURED))
    module = torch.jit.script(proxy.eval())
    module.save(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             "proxy.pt"))


if __name__ == "__main__":
    main()
