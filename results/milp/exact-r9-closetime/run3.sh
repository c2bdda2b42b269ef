#!/bin/sh
# Round 9: C (today's new default: B' + sizing) against D (C + the closing's cover rows in the target model).
cd /work/wt/closetime
B='{"skip_late": true, "simplex_after": 4}'
X='{"target_sizing": true, "target_covers": true}'
D=results/milp/exact-r9-closetime
PY=/work/venvs/closetime/bin/python
PYTHONPATH=. $PY $D/e2e.py --size 100x40x40 --order A,C --time 300 --a "$B" --b "$B" --b-extra "$X" >> $D/e2e-100x40x40-covers.jsonl
