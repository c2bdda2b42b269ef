"""Round 13: is the TTFT residual a property of the benchmark *collection* rather than the
engine? The calibration set holds three collections (the source's row ids tell them apart;
the shipped copy, tests/data/measured_serving_h100.csv, has no ids, so the rows' own fields
do): Qwen3-32B with three engines (1k-4k prompts), Llama-3.1-8B on TensorRT-LLM,
Llama-3.1-70B on vLLM, plus seven Qwen3-32B runs of 4,000 + 1,000 tokens from elsewhere.
For each (collection, engine, version): the share of rows within ±25 % with the shipped law
(``desync``) and with the lock-step simulation (``simulated``), R = 10.

``PYTHONPATH=. python results/ttft_laws/round13_collections.py [CASES.csv]`` (default: the
repository's copy, ``benchmarks.fidelity.DEFAULT_CASES``).
"""
from __future__ import annotations

import collections
import statistics
import sys
from pathlib import Path

import numpy as np

from benchmarks.fidelity import DEFAULT_CASES, Measured, read_cases
from hetserve.instances.catalog import load_catalog
from hetserve.instances.serving import ENGINES, DoesNotFit, Replica, closed_loop

COLLECTIONS = {"Llama-3.1-70B-Instruct": "Llama-3.1-70B collection",
               "Llama-3.1-8B-Instruct": "Llama-3.1-8B collection",
               "Qwen3-32B": "Qwen3-32B collection"}


def collection(m: Measured) -> str:
    if m.case.model == "Qwen3-32B" and (m.case.isl, m.case.osl) == (4000, 1000):
        return "other (Qwen3-32B, 4,000 + 1,000 tokens)"
    return COLLECTIONS[m.case.model]


if __name__ == "__main__":
    rows = read_cases(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CASES)
    cat = load_catalog("latest")
    ratios: dict[tuple[str, str, str], dict[str, list[float]]] = collections.defaultdict(
        lambda: collections.defaultdict(list))
    for m in rows:
        c = m.case
        rep = Replica(cat.models[c.model], cat.gpus[c.gpu], c.precision, c.kv_precision, c.tp,
                      c.pp, ENGINES[c.engine])
        try:
            for law in ("desync", "simulated"):
                est = closed_loop(rep, c.isl, c.osl, c.concurrency, 10, ttft_law=law)
                ratios[(collection(m), c.engine, m.version)][law].append(est.ttft_s / m.ttft_s)
        except DoesNotFit:
            continue
    print("| collection | engine | version | rows | desync: median · ±25 % | simulated: median · ±25 % |")
    print("|---|---|---|---:|---|---|")
    for (coll, engine, version), laws in sorted(ratios.items()):
        cells = [f"{statistics.median(v):.2f} · {np.mean([0.75 <= q <= 1.25 for q in v]) * 100:.0f} %"
                 for v in (laws["desync"], laws["simulated"])]
        print(f"| {coll} | {engine} | {version or '—'} | {len(laws['desync'])} | {cells[0]} | {cells[1]} |")
