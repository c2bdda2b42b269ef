#!/bin/sh
# Round 12: agh-bound's two-core default (P2: concurrent_closing, the target proven on a second
# thread while the closing goes on) with the 28k-route cap, 300 s; uses both cores, so nothing
# else runs beside it.
cd "$(dirname "$0")/../../.."
P='{"skip_late": true, "simplex_after": 4, "primal_after_columns": true}'
V='{"P2": {"tuning": '"$P"', "extra": {"target_covers": true, "concurrent_closing": true}}}'
OUT=results/milp/exact-r12-bound
PY=${PY:-/work/venvs/main/bin/python}
PYTHONPATH=. $PY results/milp/exact-r9-closetime/e2e.py --size 100x40x40 --time 300 \
    --variants "$V" --order "${ORDER:-P2}" >> $OUT/e2e-100x40x40-conc.jsonl
