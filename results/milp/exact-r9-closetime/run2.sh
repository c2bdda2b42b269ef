#!/bin/sh
# Round 9, after run.sh: a third pair at 100x40x40 (order C, A), then the cover-rows probe.
cd /work/wt/closetime
B='{"skip_late": true, "simplex_after": 4}'
X='{"target_sizing": true}'
D=results/milp/exact-r9-closetime
PY=/work/venvs/closetime/bin/python
PYTHONPATH=. $PY $D/e2e.py --size 100x40x40 --order C,A --time 300 --a "$B" --b "$B" --b-extra "$X" >> $D/e2e-100x40x40-pair3.jsonl
PYTHONPATH=. $PY $D/covprobe.py --routes 7000,14000,20000 --limit 100 >> $D/covprobe.jsonl
