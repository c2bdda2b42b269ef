#!/bin/sh
# Round 9: a second pair, D (C + target_covers, refit time model) then C (the new default).
cd /work/wt/closetime
B='{"skip_late": true, "simplex_after": 4}'
X='{"target_sizing": true, "target_covers": true}'
D=results/milp/exact-r9-closetime
PY=/work/venvs/closetime/bin/python
PYTHONPATH=. $PY $D/e2e.py --size 100x40x40 --order C,A --time 300 --a "$B" --b "$B" --b-extra "$X" >> $D/e2e-100x40x40-covers-pair2.jsonl
