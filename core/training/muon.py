"""Muon (momentum orthogonalized by Newton-Schulz) for the hidden 2-D weight matrices, as nanochat uses it.

The same update as `torch.optim.Muon` (Nesterov momentum, 5 quintic Newton-Schulz steps, lr scaled by
sqrt(max(1, rows / cols))), except where the iteration runs: bf16 on GPUs, but fp32 on CPU, where bf16
matrix products are emulated. Measured here: 4.4 s per 1024x256 matrix per step in bf16 against
milliseconds in fp32, which made torch's Muon the bottleneck of CPU training.
"""

from __future__ import annotations

import math

import torch

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def orthogonalize(g: torch.Tensor, steps: int = 5, eps: float = 1e-7) -> torch.Tensor:
    """Approximately U V^T of g = U S V^T (singular values pushed towards ~1); g is one matrix (m, n)
    or a stack of same-shape matrices (k, m, n), orthogonalized each on its own."""
    a, b, c = NS_COEFFICIENTS
    x = g.bfloat16() if g.is_cuda else g.float()
    single = x.ndim == 2
    x = x.unsqueeze(0) if single else x  # (k, m, n)
    tall = x.size(-2) > x.size(-1)
    if tall:
        x = x.mT  # the Gram matrix below is then the smaller of the two
    x = x / x.norm(dim=(-2, -1), keepdim=True).clamp(min=eps)  # spectral norm <= 1
    for _ in range(steps):
        gram = x @ x.mT
        x = torch.baddbmm(x, torch.baddbmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    x = x.mT if tall else x
    return (x[0] if single else x).to(g.dtype)


def orthogonalize_all(updates: list[torch.Tensor], steps: int = 5) -> list[torch.Tensor]:
    """`orthogonalize` of each update, with same-shape ones (every layer's q, k, v, o; every layer's MLP)
    as one batch: the same arithmetic in fewer, larger matrix products (1.34x on 2 CPU cores,
    bench/step_bench.py)."""
    by_shape: dict[tuple, list[int]] = {}
    for i, u in enumerate(updates):
        by_shape.setdefault((u.shape, u.dtype, u.device), []).append(i)
    out: list[torch.Tensor] = [None] * len(updates)  # type: ignore[list-item]
    for idx in by_shape.values():
        for i, o in zip(idx, orthogonalize(torch.stack([updates[i] for i in idx]), steps).unbind(0)):
            out[i] = o
    return out


class Muon(torch.optim.Optimizer):
    def __init__(self, params, lr: float = 0.02, momentum: float = 0.95, nesterov: bool = True,
                 weight_decay: float = 0.0, ns_steps: int = 5):
        if lr <= 0 or not 0 <= momentum < 1 or weight_decay < 0:
            raise ValueError("Muon needs lr > 0, 0 <= momentum < 1 and weight_decay >= 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
                                      ns_steps=ns_steps))
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(f"Muon only takes 2-D matrices, got a tensor of shape {tuple(p.shape)}")

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            lr, mom, wd = group["lr"], group["momentum"], group["weight_decay"]
            params, updates = [], []
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                buf = self.state[p].setdefault("momentum_buffer", torch.zeros_like(g))
                buf.lerp_(g, 1 - mom)
                params.append(p)
                updates.append(g.lerp(buf, mom) if group["nesterov"] else buf)
            for p, u in zip(params, orthogonalize_all(updates, group["ns_steps"])):
                if wd:
                    p.mul_(1 - lr * wd)
                p.add_(u, alpha=-lr * math.sqrt(max(1.0, p.size(0) / p.size(1))))
        return None
