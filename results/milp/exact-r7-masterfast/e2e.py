"""End to end (issue 13, masterfast): ``fixed_model_bound`` (the ``agh-bound`` path) with the
closing master all off (A) and tuned (B, ``closing_tuning`` = :class:`milp.colgen.MasterTuning`
of ``--b``), alternated in one process. Round 8 extended this driver (a ``speed`` probe per
row, ``--a``) in results/milp/exact-r8-bprime/e2e.py; this name runs that one with the same
flags, so the round 7 rows here are reproduced by (rows then also carry ``speed``):

    PYTHONPATH=. python results/milp/exact-r7-masterfast/e2e.py --size 100x40x40 \\
        --order A,B,A,B --time 300 --b '{"drop_idle": 2, "skip_late": true}'
"""

from __future__ import annotations

import runpy
from pathlib import Path

if __name__ == "__main__":
    runpy.run_path(str(Path(__file__).resolve().parent.parent / "exact-r8-bprime" / "e2e.py"),
                   run_name="__main__")
