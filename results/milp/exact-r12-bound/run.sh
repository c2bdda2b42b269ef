#!/bin/sh
# Round 12: the 100x40x40 s0 bound in 300 s with round 11's default (P: primal re-solves after
# columns, the sized target with the closing's cover rows), one core each, two runs at once,
# on this round's machine (AMD EPYC). Rows appended to e2e-100x40x40-p.jsonl.
cd "$(dirname "$0")/../../.."
P='{"skip_late": true, "simplex_after": 4, "primal_after_columns": true}'
V='{"P": {"tuning": '"$P"', "extra": {"target_covers": true}}}'
OUT=results/milp/exact-r12-bound
PY=${PY:-/work/venvs/main/bin/python}
for k in $(seq 1 ${PAIRS:-1}); do
    for side in 1 2; do
        PYTHONPATH=. $PY results/milp/exact-r9-closetime/e2e.py --size 100x40x40 --time 300 \
            --variants "$V" --order P >> "$OUT/e2e-100x40x40-p.jsonl" &
    done
    wait
done
