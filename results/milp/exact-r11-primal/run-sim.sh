#!/bin/sh
# Round 11: two variants at the same time, one per core, so both see the same machine state.
# Default: D (round 10's default: sized target with the closing's cover rows, dual simplex
# re-solves) against P (the same, the closing master's column-only re-solves by the primal
# simplex: MasterTuning.primal_after_columns). With A=P B=PS OUT_A=sim-p2 OUT_B=sim-ps:
# P against PS (P with early separations at most every second round, `separate_every=2`,
# a MasterTuning field built for that run and removed after it).
cd "$(dirname "$0")/../../.."
B='{"skip_late": true, "simplex_after": 4}'
P='{"skip_late": true, "simplex_after": 4, "primal_after_columns": true}'
S='{"skip_late": true, "simplex_after": 4, "primal_after_columns": true, "separate_every": 2}'
V='{"D": {"tuning": '"$B"', "extra": {"target_covers": true}},
    "P": {"tuning": '"$P"', "extra": {"target_covers": true}},
    "PS": {"tuning": '"$S"', "extra": {"target_covers": true}}}'
OUT=results/milp/exact-r11-primal
PY=${PY:-/work/venvs/main/bin/python}
for k in $(seq 1 ${PAIRS:-3}); do
    for side in "${A:-D}:${OUT_A:-sim-d}" "${B:-P}:${OUT_B:-sim-p}"; do
        PYTHONPATH=. $PY results/milp/exact-r9-closetime/e2e.py --size 100x40x40 --time 300 \
            --variants "$V" --order "${side%%:*}" >> "$OUT/e2e-100x40x40-${side#*:}.jsonl" &
    done
    wait
done
