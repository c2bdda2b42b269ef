"""The findings' tables from the e2e-*.jsonl rows of this directory (one markdown row per
run: speed probe, certified value, how, gap U/L − 1 against AGH's plan, L, closing, HiGHS,
wall, CPU, load). Round 9 extended this script (the target *V* and the sizing's columns, "–"
for these rows) in results/milp/exact-r9-closetime/table.py; this name runs that one on
this directory: ``python results/milp/exact-r8-bprime/table.py``"""

from __future__ import annotations

import runpy
from pathlib import Path

if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    runpy.run_path(str(here.parent / "exact-r9-closetime" / "table.py"),
                   run_name="table")["main"](here)
