"""Round 7 probe for issue 11's TTFT goal (docs/performance.md, "Round 7").

Re-runs the serving model (``closed_loop``, the shipped TTFT law) on the measured runs and
writes ``round7_probe.md`` next to this file. Four parts, one per lead:

* **A. SGLang 0.5.8 Qwen3-32B bf16 TP1** (6 runs, C = 16). Little's law on each run gives
  the sequences the engine held, hence its KV pool. SGLang 0.5.x's own memory rule
  (``server_args._handle_gpu_memory_settings``: ``mem_fraction_static = (gpu_mem -
  reserved) / gpu_mem`` with ``reserved = 512 + 1.5 chunked_prefill_size +
  2 cuda_graph_max_bs + tp/8 * 1024`` MiB, 8,192 and 256 on an 80 GB GPU below TP4, plus
  8 MiB per piecewise-CUDA-graph size in later 0.5.x; ``profile_max_num_token``: KV =
  free memory after the weights - free memory before them x (1 - mem_fraction_static))
  is evaluated for H100 and compared with the pool the runs imply and with the pool the
  model uses. A sweep of the pool (through ``memory_fraction``, on these six rows only)
  shows which pool would fit them: a bound, not a candidate.
* **B. AIConfigurator's generator token budget** (``generator/rule_plugin/vllm.rule`` and
  ``trtllm.rule``: an aggregated worker gets ``max_num_tokens = max_batch_size + isl +
  1500`` with ``max_batch_size`` 512): the budget per run for vLLM, for TensorRT-LLM
  (rounded up to 32 tokens), on all 579 runs. Whether the silicon sample was launched with
  these configs is not recorded; the generator ships templates for exactly the sample's
  engine versions (vLLM 0.12.0, SGLang 0.5.1.post1, TensorRT-LLM 1.0.0rc3).
* **C. Prompt-length slopes at C = 8**: measured TTFT per extra prompt token against the
  isolated prefill's, by engine, model and TP (tests lead (b)'s reading that ~40-60 ms of
  the vLLM Qwen3-32B TTFT do not shrink with TP).
* **D. A bound for lead (c)**: the Qwen3-32B runs of vLLM 0.12 and TensorRT-LLM 1.0 with
  the benchmark length R (requests per client) set per run group and TensorRT-LLM's first
  token waiting for a ``completion`` (shipped) or a ``step``: a per-model switch the rules
  forbid, computed only to see whether it would help.
* **E. Lock-step against the desynchronised law** by engine, model and version
  (``ttft_law="simulated"`` against the shipped ``"desync"``): which run groups behave as
  if their clients stayed in step.

Run from the repository root: ``python results/ttft_laws/round7_probe.py``.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, os.getcwd())

from benchmarks.fidelity import DEFAULT_CASES, _git_commit, _metrics, read_cases
from hetserve.instances import load_catalog
from hetserve.instances.serving import ENGINES, DoesNotFit, Replica, closed_loop

HERE = Path(__file__).resolve().parent
BAND = (0.75, 1.25)

# -- A. SGLang's memory rule on an H100 80 GB (sglang python/sglang/srt/server_args.py,
#    model_runner profile_max_num_token; docs/performance.md "Round 7")
GPU_MEM_MIB = 81_559
"""``gpu_mem`` SGLang reads for an H100 SXM 80 GB (nvidia-smi memory.total, MiB)."""
FREE_BEFORE_GIB = (78.5, 79.6)
"""Free memory before the weights load (``total_gpu_memory``): the card's 79.6 GiB less the
CUDA context; a range, the runs do not record it."""
PIECEWISE_SIZES = 58
"""Piecewise-CUDA-graph capture sizes up to 8,192 tokens in later 0.5.x
(``_generate_piecewise_cuda_graph_tokens``), 8 MiB reserved each when enabled."""


def sglang_fraction(tp: int, chunk: int = 8192, piecewise: bool = False) -> float:
    graph_bs = 256 if tp < 4 else 512
    reserved = 512 + max(chunk, 2048) * 1.5 + graph_bs * 2 + tp / 8 * 1024
    if piecewise:
        reserved += PIECEWISE_SIZES * 8
    return round((GPU_MEM_MIB - reserved) / GPU_MEM_MIB, 3)


def replica_of(cat, c, engine=None) -> Replica:
    """The serving model's replica for a measured case ``c`` (its own engine profile unless
    ``engine`` is given)."""
    return Replica(cat.models[c.model], cat.gpus[c.gpu], c.precision, c.kv_precision,
                   c.tp, c.pp, engine or ENGINES[c.engine])


def predict(rows, engines=None, requests=10, engines_of=None):
    cat = load_catalog("latest")
    out = []
    for r in rows:
        c = r.case
        eng = (engines_of(r) if engines_of else (engines or ENGINES))[c.engine]
        rep = replica_of(cat, c, eng)
        try:
            est = closed_loop(rep, c.isl, c.osl, c.concurrency, requests)
        except DoesNotFit:
            out.append(None)
            continue
        out.append((_metrics(c, est.ttft_s, est.tpot_s), est))
    return out


def in_band(x) -> bool:
    return BAND[0] < x < BAND[1]


def share(rows, pred, key, mask=None) -> float:
    r = np.array([p[0][key] / m.values[key] if p else np.nan for p, m in zip(pred, rows)])
    if mask is not None:
        r = r[mask]
    return 100.0 * float(np.mean((r > BAND[0]) & (r < BAND[1])))


def part_a(rows) -> list[str]:
    sg = [m for m in rows if m.case.engine == "sglang" and m.case.tp == 1]
    cat = load_catalog("latest")
    c0 = sg[0].case
    rep = replica_of(cat, c0)
    kv_tok = rep.kv_bytes_per_token_per_gpu
    w_gib = rep.weight_bytes / 2**30
    out = ["## A. SGLang 0.5.8 Qwen3-32B bf16 TP1 (C = 16): the KV pool", "",
           "Little's law: sequences in the engine = (C / e2e) x (osl - 1) TPOT (the "
           "decode time each holds its KV).", "",
           "| isl | osl | TTFT (s) | TPOT (ms) | e2e (s) | sequences held | x isl (tokens) "
           "| x (isl + osl) |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in sg:
        c, v = m.case, m.values
        held = c.concurrency / v["e2e"] * (c.osl - 1) * m.tpot_s
        out.append(f"| {c.isl} | {c.osl} | {m.ttft_s:.1f} | {m.tpot_s * 1e3:.1f} | "
                   f"{v['e2e']:.1f} | {held:.1f} | {held * c.isl:,.0f} | "
                   f"{held * (c.isl + c.osl):,.0f} |")
    out += ["", f"KV per token {kv_tok / 1024:.0f} KiB, weights {w_gib:.1f} GiB. Pools:", ""]
    out.append(f"- the model today (0.88 of 80·10⁹ B − weights − 1 GB): "
               f"{rep.kv_capacity_tokens:,} tokens")
    for pw in (False, True):
        f = sglang_fraction(1, piecewise=pw)
        lo, hi = (f * t - w_gib for t in FREE_BEFORE_GIB)
        out.append(f"- SGLang's own rule at TP1{' with piecewise CUDA graphs' if pw else ''}: "
                   f"mem_fraction_static {f:.3f}, KV ≈ {lo:.1f}–{hi:.1f} GiB = "
                   f"{lo * 2**30 / kv_tok:,.0f}–{hi * 2**30 / kv_tok:,.0f} tokens")
    need = [(t, (w_gib + 6_000 * kv_tok / 2**30) / t) for t in FREE_BEFORE_GIB]
    out.append(f"- a 6,000-token pool needs mem_fraction_static ≈ "
               f"{need[1][1]:.3f}–{need[0][1]:.3f} under the same formula")
    out += ["", "Sweep of the pool (these six rows only; `memory_fraction` of the model's "
            "rule): TTFT predicted/measured per row (isl/osl), TPOT share in band.", "",
            "| memory_fraction | pool (tokens) | 1k/128 | 1k/256 | 1k/512 | 2k/128 | 2k/256 "
            "| 2k/512 | TTFT in band | TPOT in band |", "|---:|---:|" + "---:|" * 8]
    for frac in (0.88, 0.87, 0.86, 0.857, 0.855, 0.853, 0.85):
        eng = {**ENGINES, "sglang": replace(ENGINES["sglang"], memory_fraction=frac)}
        pred = predict(sg, engines=eng)
        if any(p is None for p in pred):
            out.append(f"| {frac} | — | does not fit |" + " |" * 8)
            continue
        rt = [p[0]["ttft"] / m.ttft_s for p, m in zip(pred, sg)]
        rp = [p[0]["tpot"] / m.tpot_s for p, m in zip(pred, sg)]
        out.append(f"| {frac} | {pred[0][1].kv_capacity_tokens:,} | "
                   + " | ".join(f"{x:.2f}" for x in rt)
                   + f" | {sum(map(in_band, rt))}/6 | {sum(map(in_band, rp))}/6 |")
    return out


GROUPS = (("all", lambda m: True),
          ("vLLM Qwen3-32B", lambda m: m.case.engine == "vllm" and m.case.model == "Qwen3-32B"),
          ("vLLM Llama-3.1-70B", lambda m: m.case.engine == "vllm" and "70B" in m.case.model),
          ("TRT Qwen3-32B", lambda m: m.case.engine == "trtllm" and m.case.model == "Qwen3-32B"),
          ("TRT Llama-3.1-8B", lambda m: m.case.engine == "trtllm" and "8B" in m.case.model))


def part_b(rows) -> list[str]:
    def budget(engine):
        def engines_of(m):
            c = m.case
            if c.engine != engine:
                return ENGINES
            b = 512 + c.isl + 1500
            if engine == "trtllm":
                b = -(-b // 32) * 32
            return {**ENGINES, engine: replace(ENGINES[engine], token_budget=b)}
        return engines_of

    out = ["## B. AIConfigurator's generator token budget (512 + isl + 1,500)", "",
           "TTFT · TPOT · e2e within ±25 % (%):", "",
           "| variant | " + " | ".join(g for g, _ in GROUPS) + " |",
           "|---|" + "---|" * len(GROUPS)]
    for name, eo in (("shipped (8,192 for both)", None), ("vLLM budget per run", budget("vllm")),
                     ("TensorRT-LLM budget per run", budget("trtllm"))):
        pred = predict(rows, engines_of=eo)
        cells = []
        for _, f in GROUPS:
            mask = np.array([f(m) for m in rows])
            cells.append(" · ".join(f"{share(rows, pred, k, mask):.1f}"
                                    for k in ("ttft", "tpot", "e2e")))
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return out


def part_c(rows) -> list[str]:
    cat = load_catalog("latest")
    groups: dict = {}
    for m in rows:
        c = m.case
        if c.concurrency != 8:
            continue
        rep = replica_of(cat, c)
        p = float(rep.step_time(c.isl, 0.0, rep.attention_flops(c.isl, 0), 1))
        groups.setdefault((c.engine, c.model, c.precision, c.tp), {}) \
            .setdefault(c.isl, []).append((m.ttft_s, p))
    out = ["## C. Prompt-length slopes at C = 8 (median over output lengths)", "",
           "| engine | model | weights | TP | prompts | measured TTFT slope (µs/token) | "
           "isolated prefill slope (µs/token) | ratio | TTFT / p (short, long) |",
           "|---|---|---|---:|---|---:|---:|---:|---|"]
    for (e, model, prec, tp), v in sorted(groups.items()):
        isls = sorted(v)
        if len(isls) < 2:
            continue
        lo, hi = isls[0], isls[-1]
        mlo = float(np.median([a for a, _ in v[lo]]))
        mhi = float(np.median([a for a, _ in v[hi]]))
        plo, phi = v[lo][0][1], v[hi][0][1]
        sm, sp = (mhi - mlo) / (hi - lo), (phi - plo) / (hi - lo)
        out.append(f"| {e} | {model} | {prec} | {tp} | {lo:,}→{hi:,} | {sm * 1e6:.0f} | "
                   f"{sp * 1e6:.0f} | {sm / sp:.1f} | {mlo / plo:.1f}, {mhi / phi:.1f} |")
    return out


def part_d(rows) -> list[str]:
    sel = [m for m in rows if m.case.model == "Qwen3-32B" and m.version in ("1.0.0rc3", "0.12.0")]
    out = ["## D. Bound for lead (c): Qwen3-32B runs, R and TensorRT-LLM's first-token wait",
           "", "Rows within ±25 % of TTFT (median ratio); the shipped model is R = 10 with "
           "`completion`.", "",
           "| TensorRT-LLM waits for | R | TensorRT-LLM Qwen3-32B (1.0.0rc3) | vLLM Qwen3-32B (0.12.0) |",
           "|---|---:|---|---|"]
    for wait in ("completion", "step"):
        eng = {**ENGINES, "trtllm": replace(ENGINES["trtllm"], first_token_wait=wait)}
        for r in (2, 3, 5, 10):
            pred = predict(sel, engines=eng, requests=r)
            cells = []
            for e in ("trtllm", "vllm"):
                x = np.array([p[0]["ttft"] / m.ttft_s if p else np.nan
                              for p, m in zip(pred, sel) if m.case.engine == e])
                cells.append(f"{int(np.sum((x > BAND[0]) & (x < BAND[1])))} of {len(x)} "
                             f"(median {np.nanmedian(x):.2f})")
            out.append(f"| {wait} | {r} | " + " | ".join(cells) + " |")
    return out


def part_e(rows) -> list[str]:
    cat = load_catalog("latest")
    res: dict = {}
    for m in rows:
        c = m.case
        rep = replica_of(cat, c)
        r = []
        for law in ("desync", "simulated"):
            try:
                est = closed_loop(rep, c.isl, c.osl, c.concurrency, 10, ttft_law=law)
                r.append(est.ttft_s / m.ttft_s)
            except DoesNotFit:
                r.append(np.nan)
        res.setdefault((c.engine, c.model, m.version or "(none)"), []).append(r)
    out = ["## E. Lock-step simulation against the shipped law (TTFT)", "",
           "| engine | model | version | rows | desync (shipped): in band, median | "
           "lock-step: in band, median |", "|---|---|---|---:|---|---|"]
    for (e, model, ver), v in sorted(res.items()):
        a = np.array(v)
        cells = [f"{int(np.sum((a[:, j] > BAND[0]) & (a[:, j] < BAND[1])))}, "
                 f"{np.nanmedian(a[:, j]):.2f}" for j in (0, 1)]
        out.append(f"| {e} | {model} | {ver} | {len(a)} | " + " | ".join(cells) + " |")
    return out


def main() -> None:
    rows = read_cases(DEFAULT_CASES)
    t0, w0 = time.process_time(), time.time()
    lines = ["# Round 7 probe (issue 11, TTFT)", "",
             f"`python results/ttft_laws/round7_probe.py`, commit {_git_commit()}, "
             f"{len(rows)} measured runs.", ""]
    timings = []
    for part in (part_a, part_b, part_c, part_d, part_e):
        c0 = time.process_time()
        lines += [*part(rows), ""]
        timings.append(f"{part.__name__} {time.process_time() - c0:.0f}")
        print(timings[-1], "CPU-s", flush=True)
    load = os.getloadavg()
    lines += [f"CPU time {time.process_time() - t0:.0f} s ({', '.join(timings)}), wall "
              f"{time.time() - w0:.0f} s, load average {load[0]:.1f} / {load[1]:.1f} / "
              f"{load[2]:.1f}."]
    (HERE / "round7_probe.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
