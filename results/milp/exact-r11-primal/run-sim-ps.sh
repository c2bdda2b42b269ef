#!/bin/sh
# Round 11: P (primal_after_columns) and PS (the same, early separations at most every
# second round: separate_every=2) at the same time, one per core, so both see the same
# machine state.
cd "$(dirname "$0")/../../.."
P='{"skip_late": true, "simplex_after": 4, "primal_after_columns": true}'
S='{"skip_late": true, "simplex_after": 4, "primal_after_columns": true, "separate_every": 2}'
V='{"P": {"tuning": '"$P"', "extra": {"target_covers": true}},
    "PS": {"tuning": '"$S"', "extra": {"target_covers": true}}}'
OUT=results/milp/exact-r11-primal
PY=${PY:-/work/venvs/main/bin/python}
for k in $(seq 1 ${PAIRS:-2}); do
    PYTHONPATH=. $PY results/milp/exact-r9-closetime/e2e.py --size 100x40x40 --time 300 \
        --variants "$V" --order P >> $OUT/e2e-100x40x40-sim-p2.jsonl &
    PYTHONPATH=. $PY results/milp/exact-r9-closetime/e2e.py --size 100x40x40 --time 300 \
        --variants "$V" --order PS >> $OUT/e2e-100x40x40-sim-ps.jsonl &
    wait
done
