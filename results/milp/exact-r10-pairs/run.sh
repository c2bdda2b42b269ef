#!/bin/sh
# Round 10: C (the default: B' + the sized target) against D (C + the closing's cover rows in
# the target model) and D75 (D with closing_share 0.75), rotated, 300 s each, 1 thread.
cd "$(dirname "$0")/../../.."
B='{"skip_late": true, "simplex_after": 4}'
V='{"C": {"tuning": '"$B"', "extra": {}},
    "D": {"tuning": '"$B"', "extra": {"target_covers": true}},
    "D75": {"tuning": '"$B"', "extra": {"target_covers": true, "closing_share": 0.75}}}'
OUT=results/milp/exact-r10-pairs
PY=${PY:-/work/venvs/main/bin/python}
PYTHONPATH=. $PY results/milp/exact-r9-closetime/e2e.py --size 100x40x40 --time 300 \
    --variants "$V" --order "${ORDER:-C,D,D75,D75,D,C,D,C,D75}" >> $OUT/e2e-100x40x40.jsonl
