#!/bin/sh
# Round 10: D (the default since this round: the sized target with the closing's cover rows,
# one core) against D2 (the same, the target proven on a second thread while the closing
# goes on: concurrent_closing), alternated, 300 s each; D2 uses both cores, so nothing else
# runs beside it.
cd "$(dirname "$0")/../../.."
B='{"skip_late": true, "simplex_after": 4}'
V='{"D": {"tuning": '"$B"', "extra": {"target_covers": true}},
    "D2": {"tuning": '"$B"', "extra": {"target_covers": true, "concurrent_closing": true}}}'
OUT=results/milp/exact-r10-pairs
PY=${PY:-/work/venvs/main/bin/python}
PYTHONPATH=. $PY results/milp/exact-r9-closetime/e2e.py --size 100x40x40 --time 300 \
    --variants "$V" --order "${ORDER:-D2,D,D,D2,D2,D}" >> $OUT/e2e-100x40x40-conc.jsonl
