#!/bin/sh
# The round-9 measurements, one after the other on one core (PYTHONPATH=., no nice):
# A = today's default (B' tuning, 10k target routes), C = B' + target_sizing, alternated.
cd /work/wt/closetime
B='{"skip_late": true, "simplex_after": 4}'
X='{"target_sizing": true}'
D=results/milp/exact-r9-closetime
PY=/work/venvs/closetime/bin/python
PYTHONPATH=. $PY $D/e2e.py --size 100x40x40 --order A,C,A,C --time 300 --a "$B" --b "$B" --b-extra "$X" >> $D/e2e-100x40x40.jsonl
PYTHONPATH=. $PY $D/e2e.py --size 50x30x30 --order C --time 300 --a "$B" --b "$B" --b-extra "$X" >> $D/e2e-50x30x30.jsonl
