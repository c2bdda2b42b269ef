"""Round 17 for the TTFT goal (issue 11): two simulations not tried before.

1. *Lock-step with the generator's launch budget.* Round 7 tried AIConfigurator's generator
   budget (``max_num_tokens = max_batch_size + isl + 1500``) with the shipped TTFT law, and
   round 8 the lock-step simulation with the default budget; not the two together. With a
   budget of about one prompt per step, C clients in step prefill one after another, so the
   mean first-token wait is about (C + 1)/2 prefills: the "3.5–4.5 isolated prefills at
   C = 8" of the Qwen3-32B collection (docs/performance.md, "Where it misses").
   ``max_batch_size`` is C (the generator's benchmark rule) or 512 (its default).
2. *Client jitter in the simulation, no law.* Each request reaches the engine an exponential
   delay after the previous one completed (``closed_loop(client_delay_s=…)``; the delay is
   not part of TTFT), mean 0.5–20 ms: does a small, physical jitter dissolve the start-up
   cohorts the way the shipped law assumes?

Every variant is the serving model with every other setting shipped; R = 10.
``PYTHONPATH=. python results/ttft_laws/round17_probe.py`` writes ``round17_probe.md``.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.fidelity import DEFAULT_CASES, _git_commit, read_cases
from hetserve.instances import load_catalog
from hetserve.instances.serving import ENGINES, DoesNotFit, Replica, closed_loop

HERE = Path(__file__).resolve().parent
BAND = (0.75, 1.25)

VARIANTS = {
    "shipped (desync law)": dict(law="desync"),
    "lock-step, budget 8,192 (round 8)": dict(law="simulated"),
    "lock-step, budget C + isl + 1,500, max_num_seqs C": dict(law="simulated", budget="C"),
    "lock-step, budget 512 + isl + 1,500": dict(law="simulated", budget="512"),
    "client jitter 0.5 ms, simulated": dict(law="simulated", delay=0.0005),
    "client jitter 2 ms, simulated": dict(law="simulated", delay=0.002),
    "client jitter 5 ms, simulated": dict(law="simulated", delay=0.005),
    "client jitter 20 ms, simulated": dict(law="simulated", delay=0.02),
}


def predict(case, spec, cat):
    e = ENGINES[case.engine]
    if spec.get("budget") == "C":
        e = replace(e, token_budget=case.concurrency + case.isl + 1500,
                    max_num_seqs=case.concurrency)
    elif spec.get("budget") == "512":
        e = replace(e, token_budget=512 + case.isl + 1500)
    rep = Replica(cat.models[case.model], cat.gpus[case.gpu], case.precision, case.kv_precision,
                  case.tp, case.pp, e)
    est = closed_loop(rep, case.isl, case.osl, case.concurrency, 10, ttft_law=spec["law"],
                      client_delay_s=spec.get("delay", 0.0))
    return est.ttft_s, est.tpot_s, est.e2e_s


def main() -> None:
    rows = read_cases(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_CASES)
    cat = load_catalog("latest")
    t0, w0 = time.process_time(), time.time()
    groups = sorted({(m.case.engine, m.case.model) for m in rows})
    lines = ["# Round 17 probe (issue 11, TTFT)", "",
             f"`PYTHONPATH=. python results/ttft_laws/round17_probe.py`, commit "
             f"{_git_commit()}, {len(rows)} measured runs. Cells: rows within ±25 % "
             "(TTFT · TPOT · end-to-end, of all rows), then TTFT rows in band per group.", "",
             "| variant | all: TTFT · TPOT · e2e | " + " | ".join(f"{e} {m}" for e, m in groups)
             + " |", "|---|---|" + "---:|" * len(groups)]
    for name, spec in VARIANTS.items():
        ok = np.zeros((len(rows), 3), dtype=bool)
        for k, m in enumerate(rows):
            c = m.case
            try:
                ttft, tpot, e2e = predict(c, spec, cat)
            except DoesNotFit:
                continue
            measured = (m.ttft_s, m.tpot_s, m.ttft_s + (c.osl - 1) * m.tpot_s)
            ok[k] = [BAND[0] <= p / v <= BAND[1] for p, v in zip((ttft, tpot, e2e), measured)]
        share = " · ".join(f"{100 * ok[:, j].mean():.1f} %" for j in range(3))
        per = [sum(ok[k, 0] for k, m in enumerate(rows) if (m.case.engine, m.case.model) == g)
               for g in groups]
        lines.append(f"| {name} | {share} ({int(ok[:, 0].sum())}) | "
                     + " | ".join(str(int(p)) for p in per) + " |")
        print(name, share, flush=True)
    sizes = [sum((m.case.engine, m.case.model) == g for m in rows) for g in groups]
    lines += ["", "Rows per group: " + ", ".join(f"{e} {m} {n}" for (e, m), n in
                                                 zip(groups, sizes)) + ".", ""]
    load = os.getloadavg()
    lines.append(f"CPU time {time.process_time() - t0:.0f} s, wall {time.time() - w0:.0f} s, "
                 f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}.")
    (HERE / "round17_probe.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
