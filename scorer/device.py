"""Device and precision policy: where the model runs and in what arithmetic."""

from __future__ import annotations

import torch

from .errors import ConfigError

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ConfigError(
            f"HPS_DEVICE={device!r}: not a torch device (auto, cpu, cuda, cuda:N)"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"HPS_DEVICE={device!r}: CUDA is not available on this machine")
    return dev


def cpu_has_fast_bf16() -> bool:
    """AVX512-BF16 or AMX: native bf16 matmuls (their speed against fp32 is measured in
    BENCHMARKS.md). Without them oneDNN emulates bf16 and gains nothing over fp32."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto``: fp16 autocast on CUDA (as the official evaluation); on CPU bf16 where the CPU
    has native bf16 matmuls (:mod:`scorer.bf16`: within the fidelity bar of fp32), else fp32."""
    if precision == "auto":
        if device.type == "cuda":
            return "fp16"
        return "bf16" if cpu_has_fast_bf16() else "fp32"
    if precision not in DTYPES:
        raise ConfigError(f"unknown precision {precision!r}; choose auto, fp32, bf16 or fp16")
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError(
            "precision fp16 runs only on CUDA (CPUs have no fast fp16 matmul: see "
            "bench/matmul_rate.py in BENCHMARKS.md); on CPU choose fp32 or bf16"
        )
    return precision
