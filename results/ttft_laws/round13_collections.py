"""Round 13: is the TTFT residual a property of the benchmark *collection* rather than the
engine? The calibration set holds three collections, told apart by their row ids (Qwen3-32B
with three engines, Llama-3.1-8B on TensorRT-LLM, Llama-3.1-70B on vLLM). For each
(collection, engine, version): the share of rows within ±25 % with the shipped law
(``desync``) and with the lock-step simulation (``simulated``), R = 10.

``PYTHONPATH=. python results/ttft_laws/round13_collections.py CASES.csv``
(CASES.csv: ../shared/data/measured-serving-h100/cases.csv).
"""
from __future__ import annotations

import collections
import csv
import statistics
import sys
from pathlib import Path

import numpy as np

from benchmarks.fidelity import read_cases
from hetserve.instances.catalog import load_catalog
from hetserve.instances.serving import ENGINES, DoesNotFit, Replica, closed_loop

PREFIXES = {"qwen_qwen3": "Qwen3-32B collection", "meta_llama": "Llama-3.1-8B collection",
            "2026_04_06": "Llama-3.1-70B collection"}


def collection(row_id: str) -> str:
    for prefix, name in PREFIXES.items():
        if row_id.startswith(prefix):
            return name
    return "other (" + row_id[:22] + ")"


if __name__ == "__main__":
    path = Path(sys.argv[1])
    rows = read_cases(path)
    with path.open() as fh:
        ids = [r["id"] for r in csv.DictReader(line for line in fh if not line.startswith("#"))]
    cat = load_catalog("latest")
    ratios: dict[tuple[str, str, str], dict[str, list[float]]] = collections.defaultdict(
        lambda: collections.defaultdict(list))
    for m, row_id in zip(rows, ids):
        c = m.case
        rep = Replica(cat.models[c.model], cat.gpus[c.gpu], c.precision, c.kv_precision, c.tp,
                      c.pp, ENGINES[c.engine])
        try:
            for law in ("desync", "simulated"):
                est = closed_loop(rep, c.isl, c.osl, c.concurrency, 10, ttft_law=law)
                ratios[(collection(row_id), c.engine, m.version)][law].append(est.ttft_s / m.ttft_s)
        except DoesNotFit:
            continue
    print("| collection | engine | version | rows | desync: median · ±25 % | simulated: median · ±25 % |")
    print("|---|---|---|---:|---|---|")
    for (coll, engine, version), laws in sorted(ratios.items()):
        cells = [f"{statistics.median(v):.2f} · {np.mean([0.75 <= q <= 1.25 for q in v]) * 100:.0f} %"
                 for v in (laws["desync"], laws["simulated"])]
        print(f"| {coll} | {engine} | {version or '—'} | {len(laws['desync'])} | {cells[0]} | {cells[1]} |")
