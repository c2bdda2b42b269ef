#!/bin/sh
# Round 11: D2 (the two-core default of round 10: concurrent_closing) against P2 (the same
# with the closing master's column-only re-solves by the primal simplex), alternated, 300 s
# each; each uses both cores, so nothing else runs beside it.
cd "$(dirname "$0")/../../.."
B='{"skip_late": true, "simplex_after": 4}'
P=${PTUNING:-'{"skip_late": true, "simplex_after": 4, "primal_after_columns": true}'}
V='{"D2": {"tuning": '"$B"', "extra": {"target_covers": true, "concurrent_closing": true}},
    "P2": {"tuning": '"$P"', "extra": {"target_covers": true, "concurrent_closing": true}}}'
OUT=results/milp/exact-r11-primal
PY=${PY:-/work/venvs/main/bin/python}
PYTHONPATH=. $PY results/milp/exact-r9-closetime/e2e.py --size 100x40x40 --time 300 \
    --variants "$V" --order "${ORDER:-P2,D2,D2,P2}" >> $OUT/e2e-100x40x40-conc.jsonl
