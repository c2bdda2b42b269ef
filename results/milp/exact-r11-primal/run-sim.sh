#!/bin/sh
# Round 11: D (the default: sized target with the closing's cover rows, dual simplex
# re-solves) and P (the same, the closing master's column-only re-solves by the primal
# simplex: MasterTuning.primal_after_columns) at the same time, one per core, so both
# see the same machine state; the cores swap variants every pair.
cd "$(dirname "$0")/../../.."
B='{"skip_late": true, "simplex_after": 4}'
P='{"skip_late": true, "simplex_after": 4, "primal_after_columns": true}'
V='{"D": {"tuning": '"$B"', "extra": {"target_covers": true}},
    "P": {"tuning": '"$P"', "extra": {"target_covers": true}}}'
OUT=results/milp/exact-r11-primal
PY=${PY:-/work/venvs/main/bin/python}
for k in $(seq 1 ${PAIRS:-3}); do
    PYTHONPATH=. $PY results/milp/exact-r9-closetime/e2e.py --size 100x40x40 --time 300 \
        --variants "$V" --order D >> $OUT/e2e-100x40x40-sim-d.jsonl &
    PYTHONPATH=. $PY results/milp/exact-r9-closetime/e2e.py --size 100x40x40 --time 300 \
        --variants "$V" --order P >> $OUT/e2e-100x40x40-sim-p.jsonl &
    wait
done
