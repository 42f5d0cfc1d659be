"""Writes nan_proxy.pt for reward-model-nan.test: a TorchScript module whose
reward is NaN for a grid state whose first coordinate is 3 and finite
elsewhere. Run with Debian 12's python3-torch (1.13, the LibTorch gfl-run
links): /usr/bin/python3 make_nan_proxy.py"""
import os

import torch


class NanProxy(torch.nn.Module):
    def forward(self, x):
        bad = x[:, 0] == 3.0
        return torch.where(bad, torch.full_like(x[:, 0], float("nan")),
                           -x.sum(1))


torch.jit.script(NanProxy()).save(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "nan_proxy.pt"))
