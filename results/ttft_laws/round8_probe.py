"""Round 8 probe for issue 11's TTFT goal (docs/performance.md, "Round 8").

Round 8 looked for the launch and client settings of the calibration set's campaigns at
their source (ai-dynamo/aiconfigurator, SemiAnalysisAI/InferenceX, ai-dynamo/aiperf; the
list with repositories, paths and commits is in docs/performance.md). This script re-runs
the serving model (``closed_loop``, the shipped TTFT law) on all measured runs with each
setting found and writes ``round8_probe.md`` next to this file:

* **R, the requests per client** of the benchmark clients found: 10 (genai-perf
  ``--request-count C*10`` in aiconfigurator's ``eval`` runner and bench scripts,
  InferenceX ``--num-prompts CONC*10``; the shipped value), 20 (aiconfigurator generator
  ``bench_run.sh``, ``BENCH_MULTI_ROUND`` 20) and 50 (the generator's
  ``BenchConfig.num_requests`` default, ``concurrency * 50``). Every client found sends a
  warm-up of 2 C requests first; aiperf waits for all warm-up responses before profiling
  starts, so the profiled run again starts with C requests at once and its first wave is
  in the measured mean (the law's burst term).
* **AIConfigurator's benchmark-mode launch rules** (``generator/rule_plugin/benchmark/``:
  an aggregated worker gets ``max_batch_size`` = the row's batch size, i.e. C for one
  replica; vLLM and TensorRT-LLM ``max_num_tokens = max_batch_size + isl + 1500``, SGLang
  ``max_prefill_tokens = isl + 1500`` with ``--enable-mixed-chunk``) on every run except
  the Llama-3.1-70B ones (a different campaign, below). Whether the sample was launched
  with them is not recorded.
* **InferenceX's Llama-3.1-70B FP8 H100 vLLM launch** (``benchmarks/70b_fp8_h100_slurm.sh``:
  ``kv-cache-dtype fp8``, ``max-num-seqs $CONC``, ``max-num-batched-tokens 8192``,
  ``gpu-memory-utilization 0.9``; client ``--random-range-ratio``, 0.8 in the InferenceX
  replay of aisimulate, i.e. prompt and output lengths uniform in [0.8, 1] x nominal with
  the old ``benchmark_serving`` sampler, mean 0.9 x nominal) on the 45 Llama-3.1-70B runs,
  whose ids (``2026_04_06_llama_3_1_70b_h100_sxm_vllm_fp8_agg_1024x8192_c4_tp4_ep1_465``)
  and 1k/1k, 1k/8k, 8k/1k grid are InferenceX's.

Nothing here is read from the calibration set. Run from the repository root:
``python results/ttft_laws/round8_probe.py``.
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
RANGE_MEAN = 0.9
"""Mean length over nominal for ``--random-range-ratio 0.8`` with the sampler
``randint(int(n * r), n + 1)`` (vLLM ``benchmark_serving`` random dataset before 0.9,
InferenceX's pinned copy)."""

GROUPS = (("all", lambda m: True),
          ("vLLM Qwen3-32B", lambda m: m.case.engine == "vllm" and m.case.model == "Qwen3-32B"),
          ("vLLM Llama-3.1-70B", lambda m: m.case.engine == "vllm" and "70B" in m.case.model),
          ("TRT Qwen3-32B", lambda m: m.case.engine == "trtllm" and m.case.model == "Qwen3-32B"),
          ("TRT Llama-3.1-8B", lambda m: m.case.engine == "trtllm" and "8B" in m.case.model),
          ("SGLang Qwen3-32B", lambda m: m.case.engine == "sglang"))


def is_70b(m) -> bool:
    return "70B" in m.case.model


def predict(rows, requests=10, engines_of=None, case_of=None, law_of=None, range_of=None):
    cat = load_catalog("latest")
    out = []
    for m in rows:
        c = case_of(m) if case_of else m.case
        eng = (engines_of(m) if engines_of else ENGINES)[c.engine]
        rep = Replica(cat.models[c.model], cat.gpus[c.gpu], c.precision, c.kv_precision,
                      c.tp, c.pp, eng)
        try:
            est = closed_loop(rep, c.isl, c.osl, c.concurrency, requests,
                              ttft_law=law_of(m) if law_of else "desync",
                              range_ratio=range_of(m) if range_of else 1.0)
        except DoesNotFit:
            out.append(None)
            continue
        # Compare with the measured run at its nominal lengths (e2e from the predicted
        # TTFT and TPOT at the nominal output length).
        out.append(_metrics(m.case, est.ttft_s, est.tpot_s))
    return out


def shares(rows, pred, f) -> str:
    mask = np.array([f(m) for m in rows])
    cells = []
    for k in ("ttft", "tpot", "e2e"):
        r = np.array([p[k] / m.values[k] if p else np.nan for p, m in zip(pred, rows)])[mask]
        cells.append(f"{100.0 * float(np.mean((r > BAND[0]) & (r < BAND[1]))):.1f}")
    n_in = int(np.sum(np.array([p is not None and BAND[0] < p["ttft"] / m.ttft_s < BAND[1]
                                for p, m in zip(pred, rows)]) & mask))
    return " · ".join(cells) + f" ({n_in})"


def aic_bench(mixed_chunk: bool):
    """AIConfigurator's benchmark-mode rules for an aggregated worker (module docstring)."""
    def engines_of(m):
        c = m.case
        if is_70b(m):
            return ENGINES
        e = ENGINES[c.engine]
        if c.engine == "sglang":
            e = replace(e, max_num_seqs=c.concurrency,
                        token_budget=min(e.token_budget, c.isl + 1500),
                        policy="chunked" if mixed_chunk else e.policy)
        else:
            b = c.concurrency + c.isl + 1500
            if c.engine == "trtllm":
                b = -(-b // 32) * 32
            e = replace(e, max_num_seqs=c.concurrency, token_budget=b)
        return {**ENGINES, c.engine: e}
    return engines_of


def ix_engines(m):
    if not is_70b(m):
        return ENGINES
    return {**ENGINES, "vllm": replace(ENGINES["vllm"], max_num_seqs=m.case.concurrency)}


def ix_kv(m):
    return replace(m.case, kv_precision="fp8") if is_70b(m) else m.case


def ix_kv_len(m):
    c = ix_kv(m)
    if not is_70b(m):
        return c
    return replace(c, isl=round(RANGE_MEAN * c.isl), osl=max(2, round(RANGE_MEAN * c.osl)))


def fixed_length_lockstep(m):
    """Lock-step (the simulated mean) for vLLM runs of the fixed-length campaigns
    (every request exactly isl / osl tokens: genai-perf or aiperf with stddev 0 and
    ``ignore_eos``), the desynchronised law for the InferenceX runs (lengths uniform in
    [0.8, 1] x nominal) and for TensorRT-LLM (its completion wait)."""
    return "simulated" if (m.case.engine == "vllm" and not is_70b(m)) else "desync"


def client_range(m) -> float:
    """The client's ``--random-range-ratio``: 0.8 for the InferenceX runs, exact lengths
    (1) for the others (stddev 0 in every aiconfigurator client found)."""
    return 0.8 if is_70b(m) else 1.0


def vllm_lockstep(m):
    return "simulated" if m.case.engine == "vllm" else "desync"


VARIANTS = (
    ("shipped (R = 10: genai-perf in aiconfigurator eval, InferenceX)", dict()),
    ("R = 20 (generator bench_run.sh, BENCH_MULTI_ROUND 20)", dict(requests=20)),
    ("R = 50 (generator BenchConfig.num_requests default)", dict(requests=50)),
    ("AIC benchmark rules: max_batch_size = C, budget C + isl + 1500; SGLang "
     "max_prefill_tokens isl + 1500, prefill-first kept", dict(engines_of=aic_bench(False))),
    ("the same with SGLang --enable-mixed-chunk (mixed steps)",
     dict(engines_of=aic_bench(True))),
    ("InferenceX 70B: max-num-seqs = C", dict(engines_of=ix_engines)),
    ("InferenceX 70B: + kv-cache-dtype fp8", dict(engines_of=ix_engines, case_of=ix_kv)),
    ("InferenceX 70B: + mean lengths 0.9 x nominal (range ratio 0.8)",
     dict(engines_of=ix_engines, case_of=ix_kv_len)),
    ("InferenceX 70B: client length spread (range ratio 0.8) in the simulation, shipped law",
     dict(range_of=client_range)),
    ("vLLM fixed-length campaign (not InferenceX): lock-step simulation",
     dict(law_of=fixed_length_lockstep)),
    ("vLLM: lock-step simulation, fixed lengths for every run (round 7, table E)",
     dict(law_of=vllm_lockstep)),
    ("vLLM: lock-step simulation with each client's length spread (InferenceX 0.8, "
     "others exact)", dict(law_of=vllm_lockstep, range_of=client_range)),
)


def main() -> None:
    rows = read_cases(DEFAULT_CASES)
    t0, w0 = time.process_time(), time.time()
    lines = ["# Round 8 probe (issue 11, TTFT): launch and client settings at the source", "",
             f"`python results/ttft_laws/round8_probe.py`, commit {_git_commit()}, "
             f"{len(rows)} measured runs. TTFT · TPOT · e2e within ±25 % (%), "
             "(rows with TTFT in band).", "",
             "| variant | " + " | ".join(g for g, _ in GROUPS) + " |",
             "|---|" + "---|" * len(GROUPS)]
    timings = []
    for name, kw in VARIANTS:
        c0 = time.process_time()
        pred = predict(rows, **kw)
        lines.append(f"| {name} | " + " | ".join(shares(rows, pred, f) for _, f in GROUPS) + " |")
        timings.append(f"{time.process_time() - c0:.0f}")
        print(lines[-1], timings[-1], "CPU-s", flush=True)
    load = os.getloadavg()
    lines += ["", f"CPU time {time.process_time() - t0:.0f} s (per variant: "
              f"{', '.join(timings)}), wall {time.time() - w0:.0f} s, load average "
              f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}."]
    (HERE / "round8_probe.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
