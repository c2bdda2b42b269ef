"""End to end (issue 13, bprime, round 8; round 7's driver extended: its row format plus
``speed``, the CPU s of the closing's first five master solves, the same LPs in A and B, as a
probe of the machine's speed during the run; results/milp/exact-r7-masterfast/e2e.py now runs
this one; AGH's plan from ``benchmarks.milp_large_bound.cached_agh_plan``, cached here where
no earlier directory has it). ``fixed_model_bound`` (the ``agh-bound`` path) with the
closing master all off (A; ``--a`` to tune it) and tuned (B, ``closing_tuning`` =
:class:`milp.colgen.MasterTuning` of ``--b``), alternated in one process, from AGH's plan
(cached: results/milp/agh100-r4/ at 100x40x40 s0, results/milp/exact-r6-covclose/ else).
One JSON line per run: certified value, how (L or V), wall/CPU, the closing's rounds.

    PYTHONPATH=. python results/milp/exact-r8-bprime/e2e.py --size 100x40x40 \
        --order A,B,A,B --time 300 --b '{"skip_late": true, "simplex_after": 4}'
"""
# Round 9 extended this driver (variant C, the target sizing's record) in
# results/milp/exact-r9-closetime/e2e.py; this name runs that one with the same flags, so
# the round 8 rows here are reproduced by it (rows then also carry ``target_sizing``).

from __future__ import annotations

import runpy
from pathlib import Path

if __name__ == "__main__":
    runpy.run_path(str(Path(__file__).resolve().parent.parent / "exact-r9-closetime" / "e2e.py"),
                   run_name="__main__")
