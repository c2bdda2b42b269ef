#!/bin/sh
# Round 9: one D run (C + target_covers) with the refit covers time model (42 s, 270/s).
cd /work/wt/closetime
B='{"skip_late": true, "simplex_after": 4}'
X='{"target_sizing": true, "target_covers": true}'
D=results/milp/exact-r9-closetime
PY=/work/venvs/closetime/bin/python
PYTHONPATH=. $PY $D/e2e.py --size 100x40x40 --order C --time 300 --a "$B" --b "$B" --b-extra "$X" >> $D/e2e-100x40x40-covers2.jsonl
