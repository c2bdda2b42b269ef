#!/bin/sh
# Round 10: C and D at the same time, one per core (both see the same machine state), twice.
cd "$(dirname "$0")/../../.."
B='{"skip_late": true, "simplex_after": 4}'
V='{"C": {"tuning": '"$B"', "extra": {}},
    "D": {"tuning": '"$B"', "extra": {"target_covers": true}}}'
OUT=results/milp/exact-r10-pairs
PY=${PY:-/work/venvs/main/bin/python}
for k in 1 2; do
    PYTHONPATH=. $PY results/milp/exact-r9-closetime/e2e.py --size 100x40x40 --time 300 \
        --variants "$V" --order C >> $OUT/e2e-100x40x40-sim-c.jsonl &
    PYTHONPATH=. $PY results/milp/exact-r9-closetime/e2e.py --size 100x40x40 --time 300 \
        --variants "$V" --order D >> $OUT/e2e-100x40x40-sim-d.jsonl &
    wait
done
