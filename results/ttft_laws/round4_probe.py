"""Round 4 probe for issue 11's TTFT goal (docs/performance.md, "Round 4").

Re-runs the serving model (``closed_loop``, the shipped TTFT law) on all 579 measured runs
under each variant and prints the shares within +-25 % of TTFT, TPOT and end-to-end latency,
overall and by engine x model and TP; writes ``round4_probe.md`` next to this file.

Variants (each physically meaningful and sourced; none read from the calibration set):

* ``attention width = hidden`` (hypothesis 1, the direction of a catalog error): the
  quadratic attention FLOP with ``hidden`` instead of heads x head_dim for Qwen3-32B
  (5,120 instead of 8,192; the catalog has the 8,192 of config.json).
* ``no embedding / LM-head FLOP`` (hypothesis 1, the linear term): the input embedding is a
  lookup, not a matmul, and engines compute logits for the last prompt token only, so a
  prompt's matmul FLOP are 2 (P - 2 V H) per token, not 2 P (V H: vocab x hidden, untied
  in all three models' config.json: Llama-3.1 128,256 x 4,096 / 8,192, Qwen3-32B
  151,936 x 5,120). Applied by scaling the GEMM peak by P / (P - 2 V H), which also drops the
  LM head from decode compute (decode is memory-bound in these runs).
* ``vLLM steps > 512 tokens without CUDA graphs`` (hypothesis 2): vLLM V1 replays CUDA
  graphs only up to ``max_cudagraph_capture_size`` = min(2 max_num_seqs, 512) tokens, so a
  prompt step runs eagerly; its 2L all-reduces then pay the eager launch, +10 us each
  (nccl-collectives-bench, below).
* ``vLLM token budget 2,048`` (hypothesis 2): the default below 70 GiB or on A100
  (vllm/engine/arg_utils.py ``get_batch_defaults``); the H100 OpenAI server's is 8,192.
* ``all-reduce at 0.73 of NVLink``: the bus bandwidth nccl-tests measure at the prefill's
  message sizes (8-128 MB: 315-338 GB/s after the 23 us latency floor, 4x H100 SXM,
  waynehacking8/nccl-collectives-bench results/all_reduce.csv) instead of the 8 GB
  asymptote (366 GB/s, 0.81).

A second table sets the benchmark length R (requests per client) for one engine's Qwen3-32B
rows only: a bound (a per-engine-and-model fit), not a candidate.

Run from the repository root: ``python results/ttft_laws/round4_probe.py``.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.getcwd())

from benchmarks.fidelity import (
    DEFAULT_CASES,
    _git_commit,
    _metrics,
    ratios_of,
    read_cases,
    summarise,
)
from hetserve.instances import load_catalog
from hetserve.instances.serving import (
    ENGINES,
    DoesNotFit,
    Replica,
    ServingConstants,
    closed_loop,
)

VOCAB = {"Llama-3.1-8B-Instruct": 128_256, "Llama-3.1-70B-Instruct": 128_256,
         "Qwen3-32B": 151_936}
"""vocab_size of each model's config.json (tie_word_embeddings false in all three)."""


class NoEmbeddingFlops(Replica):
    """A replica whose matmul FLOP per token leave out the embedding and the LM head."""

    @property
    def gemm_peak(self) -> tuple[float, float]:
        flops, eff = super().gemm_peak
        m = self.model
        p = m.params_b * 1e9
        return flops * p / (p - 2.0 * VOCAB[m.name] * m.hidden), eff


EAGER_ALLREDUCE_S = 10e-6
"""Extra launch cost of an all-reduce outside a CUDA graph: 23 us eager against 13 us
replayed from a graph on 4x H100 (quiet box, message sizes 1-128 KB;
waynehacking8/nccl-collectives-bench results/tp_latency_report.md, section 4)."""
GRAPH_MAX_TOKENS = 512
"""vLLM V1 captures CUDA graphs up to min(2 max_num_seqs, 512) tokens (``max_cudagraph_capture_size``,
vllm/config/vllm.py ``_set_cudagraph_sizes``); larger steps run without a graph."""


class EagerLargeSteps(Replica):
    """vLLM steps above the largest captured CUDA graph pay the eager all-reduce launches."""

    def step_time(self, tokens, context_tokens, attention_flops=0.0, sequences=None):
        base = super().step_time(tokens, context_tokens, attention_flops, sequences)
        if self.engine.name != "vllm" or self.tp == 1:
            return base
        extra = 2 * self.model.layers * EAGER_ALLREDUCE_S
        return base + np.where(np.asarray(tokens, dtype=float) > GRAPH_MAX_TOKENS, extra, 0.0)


class EagerPromptSteps(Replica):
    """Every engine: steps outside a CUDA graph pay the eager all-reduce launches. vLLM:
    above 512 tokens; SGLang and TensorRT-LLM capture decode-only batches, so every step
    that carries prompt tokens runs eagerly."""

    def step_time(self, tokens, context_tokens, attention_flops=0.0, sequences=None):
        base = super().step_time(tokens, context_tokens, attention_flops, sequences)
        if self.tp == 1:
            return base
        t = np.asarray(tokens, dtype=float)
        seqs = t if sequences is None else np.asarray(sequences, dtype=float)
        eager = t > GRAPH_MAX_TOKENS if self.engine.name == "vllm" else t > seqs
        return base + np.where(eager, 2 * self.model.layers * EAGER_ALLREDUCE_S, 0.0)


R_GRID = (3, 4, 5, 10)


def predict(rows, *, consts=None, replica_cls=Replica, model_map=None, engines=None,
            requests=10):
    cat = load_catalog("latest")
    out = []
    for r in rows:
        c = r.case
        model = cat.models[c.model]
        if model_map:
            model = model_map(model)
        rep = replica_cls(model, cat.gpus[c.gpu], c.precision, c.kv_precision, c.tp, c.pp,
                          (engines or ENGINES)[c.engine], consts or ServingConstants())
        try:
            est = closed_loop(rep, c.isl, c.osl, c.concurrency, requests)
        except DoesNotFit:
            out.append(None)
            continue
        out.append(_metrics(c, est.ttft_s, est.tpot_s))
    return out


def hidden_width(model):
    return dataclasses.replace(model, attention_heads=None) if model.name == "Qwen3-32B" else model


VARIANTS = {
    "shipped": {},
    "attention width = hidden (Qwen3-32B)": {"model_map": hidden_width},
    "no embedding / LM-head FLOP": {"replica_cls": NoEmbeddingFlops},
    "vLLM steps > 512 tokens without CUDA graphs (+10 us per all-reduce)": {
        "replica_cls": EagerLargeSteps},
    "every engine's prompt steps without CUDA graphs (+10 us per all-reduce)": {
        "replica_cls": EagerPromptSteps},
    "vLLM token budget 2,048 (pre-V1 / < 70 GiB default)": {
        "engines": {**ENGINES, "vllm": dataclasses.replace(ENGINES["vllm"], token_budget=2048)}},
    "all-reduce at 0.73 of NVLink (nccl-tests at 8-128 MB)": {
        "consts": ServingConstants(allreduce_bandwidth_efficiency=0.73)},
}


def main() -> None:
    rows = read_cases(DEFAULT_CASES)
    groups = {"all": np.ones(len(rows), dtype=bool)}
    for key in sorted({(m.case.engine, m.case.model) for m in rows}):
        groups[f"{key[0]} {key[1]}"] = np.array([(m.case.engine, m.case.model) == key
                                                 for m in rows])
    for tp in sorted({m.case.tp for m in rows}):
        groups[f"TP{tp}"] = np.array([m.case.tp == tp for m in rows])
    lines = ["# Round 4 probe (issue 11, TTFT): shares within +-25 %", "",
             f"{len(rows)} measured runs; `python results/ttft_laws/round4_probe.py` at commit "
             f"{_git_commit()[:7]}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
             f"load average at start {os.getloadavg()[0]:.1f} on the shared 2-core machine "
             "(CPU seconds per variant in the last column).", ""]
    head = "| variant | " + " | ".join(groups) + " | TPOT | e2e | CPU s |"
    lines += [head, "|" + "---|" * (len(groups) + 4)]
    for name, kw in VARIANTS.items():
        t0 = time.process_time()
        r = ratios_of(rows, predict(rows, **kw))
        cpu = time.process_time() - t0
        ttft = [summarise(r["ttft"][mask])["within25"] for mask in groups.values()]
        tpot = summarise(r["tpot"])["within25"]
        e2e = summarise(r["e2e"])["within25"]
        cells = " | ".join(f"{100 * x:.1f}" for x in ttft)
        lines.append(f"| {name} | {cells} | {100 * tpot:.1f} | {100 * e2e:.1f} | {cpu:.0f} |")
        print(lines[-1], flush=True)
    lines.append("")
    lines.append("Columns up to TP8: TTFT within +-25 % (%) for all rows, each engine x model "
                 "and each TP; TPOT and e2e: all rows.")
    lines += ["", "## Benchmark length R of the Qwen3-32B runs (a bound, not shippable)", "",
              "R (requests per client, shipped 10) set for one engine's Qwen3-32B rows only: "
              "a per-(engine, model) fit the rules forbid, computed to see whether the two "
              "Qwen3-32B groups read as one shorter campaign. Rows within +-25 % (of n).", "",
              "| engine | R | n | TTFT | TPOT | e2e |", "|---|---|---|---|---|---|"]
    for eng in ("vllm", "trtllm"):
        sub = [m for m in rows if m.case.model == "Qwen3-32B" and m.case.engine == eng]
        for r_len in R_GRID:
            r = ratios_of(sub, predict(sub, requests=r_len))
            cells = " | ".join(str(int(np.sum(np.abs(r[k] - 1) <= 0.25)))
                               for k in ("ttft", "tpot", "e2e"))
            lines.append(f"| {eng} | {r_len} | {len(sub)} | {cells} |")
            print(lines[-1], flush=True)
    Path(__file__).with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
