"""End to end (issue 13, closetime, round 9: round 8's driver, results/milp/exact-r8-bprime/
e2e.py, copied; its row format plus ``target_sizing``, the sizing's record, and variant
``C``, a name for B). Round 9 runs A = today's default (B'
tuning given explicitly) against C = B' with ``target_sizing``:

    PYTHONPATH=. python results/milp/exact-r9-closetime/e2e.py --size 100x40x40 \
        --order A,C,A,C --time 300 --a '{"skip_late": true, "simplex_after": 4}' \
        --b '{"skip_late": true, "simplex_after": 4}' --b-extra '{"target_sizing": true}'

Everything else (A and B, the row format, the plan cache) is round 8's: see the docstring
of results/milp/exact-r8-bprime/e2e.py, which now runs this driver.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from benchmarks.milp_large_bound import cached_agh_plan, emit_row

HERE = Path(__file__).resolve().parent
R6 = HERE.parent / "exact-r6-covclose"
R8 = HERE.parent / "exact-r8-bprime"
SPEED_SOLVES = 5  # the first master solves: identical in A and B (B crosses over at the 5th)


def _sizing(s: dict | None) -> dict | None:
    """The sizing's record without the resumed closing's history (kept in short form)."""
    if s is None:
        return None
    out = {k: v for k, v in s.items() if k != "closing_more"}
    more = s.get("closing_more")
    if more is not None:
        out["closing_more"] = {**{k: v for k, v in more.items() if k != "history"},
                               "history": [_round(h) for h in more.get("history", [])]}
    return out


def _round(h: dict) -> dict:
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in h.items()}


@click.command()
@click.option("--size", default="100x40x40")
@click.option("--seed", type=int, default=0)
@click.option("--order", default="A,B")
@click.option("--time", "seconds", type=float, default=300.0)
@click.option("--a", "a_json", default="{}",
              help="MasterTuning fields of variant A (JSON; default: all off).")
@click.option("--b", "b_json", default='{"drop_idle": 2, "skip_late": true}',
              help="MasterTuning fields of variant B (JSON).")
@click.option("--b-extra", default="{}", help="fixed_model_bound keywords of B (JSON).")
@click.option("--variants", "variants_json", default="{}",
              help="Named variants (JSON: name -> {\"tuning\": MasterTuning fields, "
                   "\"extra\": fixed_model_bound keywords}); --order may name them "
                   "(round 10).")
def main(size: str, seed: int, order: str, seconds: float, a_json: str, b_json: str,
         b_extra: str, variants_json: str) -> None:
    from hetserve.instances.evaluate import evaluate_arrays
    from hetserve.instances.generate import generate
    from hetserve.milp.bound import fixed_model_bound
    from hetserve.milp.colgen import MasterTuning

    inst = generate(tuple(int(v) for v in size.split("x")), seed)  # type: ignore[arg-type]
    plan = cached_agh_plan(inst, size, seed, [R6, R8, HERE])
    emit_row(phase="agh", size=size, seed=seed,
             plan=float(evaluate_arrays(inst, *plan.to_arrays(inst)).objective))
    tuning_a = MasterTuning(**json.loads(a_json))
    tuning_b = MasterTuning(**json.loads(b_json))
    extra_b = json.loads(b_extra)
    named = json.loads(variants_json)
    for variant in order.split(","):
        # A: every switch off (or --a), explicitly (whatever the default of the code under test)
        if variant in named:
            spec = named[variant]
            kw = {"closing_tuning": MasterTuning(**spec.get("tuning", {})),
                  **spec.get("extra", {})}
        elif variant in ("B", "C"):
            kw = {"closing_tuning": tuning_b, **extra_b}
        else:
            kw = {"closing_tuning": tuning_a}
        t0, c0 = time.perf_counter(), time.process_time()
        b, run = fixed_model_bound(inst, plan, time_limit_s=seconds, seed=seed, **kw)
        st = b.stats
        hist = st.get("closing_history") or []
        speed = round(sum(h.get("master_cpu_s", 0.0) for h in hist[:SPEED_SOLVES]), 2) \
            if len(hist) >= SPEED_SOLVES else None
        emit_row(phase="bound", variant=variant, size=size, seed=seed,
                 tuning=json.dumps(named[variant].get("tuning", {})) if variant in named
                 else b_json if variant in ("B", "C") else (a_json if a_json != "{}" else None),
                 extra=json.dumps(named[variant].get("extra", {})) if variant in named
                 else b_extra if variant in ("B", "C") else None, time_limit_s=seconds,
                 value=b.value, method=b.method, how="V" if b.method == "fixed-mip" else "L",
                 lagrangian=st.get("lagrangian"), highs_bound=st.get("highs_bound"),
                 highs_status=st.get("highs_status"), target=st.get("target"),
                 surviving=st.get("surviving_routes"), n_vars=st.get("n_vars"),
                 upper=st.get("upper"), plan=run.objective if run.feasible else None,
                 closing_s=st.get("closing_s"), closing_rounds=st.get("closing_rounds"),
                 closing_converged=st.get("closing_converged"),
                 closing_cover_rows=st.get("closing_cover_rows"), solve_s=st.get("solve_s"),
                 speed=speed, wall_s=time.perf_counter() - t0, cpu_s=time.process_time() - c0,
                 target_sizing=_sizing(st.get("target_sizing")),
                 closing_history=[_round(h) for h in hist])
    sys.exit(0)


if __name__ == "__main__":
    main()
