"""Which device and precision to use: CUDA, Apple MPS or CPU; bf16 where the GPU supports it,
fp16 on GPUs that do not (a T4), fp32 on CPU."""

from __future__ import annotations

import torch


def pick_device(prefer: str | None = None) -> torch.device:
    """`prefer` is 'cuda', 'mps', 'cpu' or None (best available)."""
    if prefer and prefer != "auto":
        if prefer.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError("CUDA was asked for but no CUDA GPU is available")
        if prefer == "mps" and not torch.backends.mps.is_available():
            raise ValueError("MPS was asked for but Apple's GPU backend is not available")
        try:
            return torch.device(prefer)
        except RuntimeError as e:
            raise ValueError(f"unsupported device {prefer!r}: use cpu, cuda, cuda:N or mps") from e
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def pick_dtype(device: torch.device) -> torch.dtype:
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return torch.float32
