#!/bin/sh
# Round 12: the target sizing capped at 28k routes (C) against uncapped (U), both with
# round 11's default otherwise, one core each, at the same time.
cd "$(dirname "$0")/../../.."
P='{"skip_late": true, "simplex_after": 4, "primal_after_columns": true}'
V='{"C": {"tuning": '"$P"', "extra": {"target_covers": true}},
    "U": {"tuning": '"$P"', "extra": {"target_covers": true}}}'
OUT=results/milp/exact-r12-bound
PY=${PY:-/work/venvs/main/bin/python}
for k in $(seq 1 ${PAIRS:-1}); do
    HETSERVE_TARGET_MAX_ROUTES=28000 PYTHONPATH=. $PY results/milp/exact-r12-bound/e2e_cap.py \
        --size 100x40x40 --time 300 --variants "$V" --order C >> "$OUT/e2e-100x40x40-cap.jsonl" &
    HETSERVE_TARGET_MAX_ROUTES=inf PYTHONPATH=. $PY results/milp/exact-r12-bound/e2e_cap.py \
        --size 100x40x40 --time 300 --variants "$V" --order U >> "$OUT/e2e-100x40x40-cap.jsonl" &
    wait
done
