"""Probe (issue 11, hypothesis 2): tile-and-wave quantisation of the weight GEMMs.

Not shipped (docs/performance.md, "Round 3"). A per-GPU GEMM of M x N (K deep) in tiles of
``tm`` x ``tn`` on S SMs runs ceil(tiles / S) waves; its time is taken as waves x one tile's
work instead of the ideal M·N·K / S. The factor (>= 1, FLOP-weighted over the four GEMMs of a
layer: QKV, attention output, gate+up, down) scales the weight-GEMM compute term of a serving
step. The step's memory term is unchanged, so decode steps are only hit where their compute
already binds. Widths: the models' config.json (intermediate_size 14,336 for
Llama-3.1-8B, 28,672 for Llama-3.1-70B, 25,600 for Qwen3-32B); 132 SMs for H100 SXM5 and
H200 (NVIDIA H100 Tensor Core GPU Architecture whitepaper: 132 SMs on the SXM5 part; the H200
uses the same GH100 configuration).

Run from the repository root: ``python results/ttft_laws/gemm_waves_probe.py`` (about 15
CPU-s per variant). Prints the share of rows within ±25 % of TTFT, TPOT and end-to-end
latency per variant, and TTFT by engine, model and TP.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.fidelity import (
    DEFAULT_CASES,
    predict_serving,
    ratios_of,
    read_cases,
    summarise,
)
from hetserve.instances import serving

INTERMEDIATE = {"Llama-3.1-8B-Instruct": 14336, "Llama-3.1-70B-Instruct": 28672,
                "Qwen3-32B": 25600}
SMS = {"H100-SXM": 132, "H200": 132}
VARIANTS = {
    "tiles 128x256, every step": (128, 256, 0, None),
    "tiles 128x256, steps of >= 512 tokens": (128, 256, 512, None),
    "tiles 128x256, >= 512 tokens, relative to a 2,048-token TP1 prompt": (128, 256, 512, 2048),
    "tiles 128x128, >= 512 tokens": (128, 128, 512, None),
    "tiles 128x128, >= 512 tokens, relative to a 2,048-token TP1 prompt": (128, 128, 512, 2048),
}
_step = serving.Replica.step_time
_cfg: dict[str, Any] = {}


def wave_factor(rep: serving.Replica, tokens: Any, tm: int, tn: int) -> Any:
    """FLOP-weighted (waves x tile work) / ideal work of one layer's weight GEMMs."""
    m, n = rep.model, rep.tp
    q = (m.attention_heads or m.hidden // m.head_dim) * m.head_dim
    inter = INTERMEDIATE[m.name]
    gemms = ((q + 2 * m.kv_heads * m.head_dim) / n, m.hidden), (m.hidden, q / n), \
        (2 * inter / n, m.hidden), (m.hidden, inter / n)
    rows = np.asarray(tokens, dtype=float)
    quantised = ideal = 0.0
    for width, depth in gemms:
        tiles = np.ceil(rows / tm) * math.ceil(width / tn)
        quantised = quantised + np.ceil(tiles / SMS[rep.gpu.name]) * tm * tn * depth
        ideal = ideal + rows * width * depth / SMS[rep.gpu.name]
    return np.maximum(1.0, quantised / np.maximum(ideal, 1e-9))


def step_time(self: serving.Replica, tokens: Any, context_tokens: Any,
              attention_flops: Any = 0.0, sequences: Any = None) -> Any:
    """The shipped step with the weight-GEMM compute term scaled by the wave factor."""
    base = _step(self, tokens, context_tokens, attention_flops, sequences)
    if not _cfg:
        return base
    tm, tn, min_tokens, ref = _cfg["v"]
    m, n, c = self.model, self.tp, self.constants
    t = np.asarray(tokens, dtype=float)
    f = wave_factor(self, t, tm, tn)
    if ref:
        f = np.maximum(1.0, f / wave_factor(dataclasses.replace(self, tp=1), ref, tm, tn))
    f = np.where(t >= min_tokens, f, 1.0)
    flops, eff = self.gemm_peak
    gemm = 2.0 * m.active_params_b * 1e9 * t / (n * flops * eff)
    seqs = t if sequences is None else np.asarray(sequences, dtype=float)
    w_read = self.weight_bytes * np.minimum(1.0, m.active_params_b / m.params_b
                                            * np.maximum(seqs, 1.0))
    kv = self.kv_bytes_per_token * self.pp / self.kv_shards * np.asarray(context_tokens, float)
    memory = (w_read / n + kv) / (self.gpu.bandwidth_gb_s * 1e9 * c.bandwidth_efficiency)
    compute = gemm + np.asarray(attention_flops, dtype=float) / (
        n * self.gpu.fp16_tflops * 1e12 * c.gemm_efficiency_fp16)
    # base = max(memory, compute) + rest; the wave factor lengthens the GEMM part of compute.
    return base + np.maximum(0.0, compute + gemm * (f - 1.0) - np.maximum(memory, compute))


def main() -> None:
    rows = read_cases(DEFAULT_CASES)
    serving.Replica.step_time = step_time  # type: ignore[method-assign]
    for name, v in {"shipped": None, **VARIANTS}.items():
        _cfg.clear()
        if v:
            _cfg["v"] = v
        t0 = time.process_time()
        r = ratios_of(rows, [predict_serving(m.case) for m in rows])
        shares = " · ".join(f"{k} {100 * summarise(r[k])['within25']:.1f} %"
                            for k in ("ttft", "tpot", "e2e"))
        by = []
        for kind in ("engine", "model", "tp"):
            for val in sorted({getattr(m.case, kind) for m in rows}, key=str):
                mask = np.array([getattr(m.case, kind) == val for m in rows])
                by.append(f"{kind}={val} {100 * summarise(r['ttft'][mask])['within25']:.0f}")
        print(f"| {name} | {shares} | {', '.join(by)} | {time.process_time() - t0:.0f} CPU-s |",
              flush=True)


if __name__ == "__main__":
    main()
