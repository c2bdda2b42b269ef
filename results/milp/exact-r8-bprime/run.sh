#!/bin/sh
# The round-8 measurements, one after the other on one core (PYTHONPATH=., no nice).
cd /work/wt/bprime
B='{"skip_late": true, "simplex_after": 4}'
D=results/milp/exact-r8-bprime
PY=/work/venvs/bprime/bin/python
PYTHONPATH=. $PY $D/e2e.py --size 50x30x30 --order A,B,A,B --time 300 --b "$B" >> $D/e2e-50x30x30.jsonl
PYTHONPATH=. $PY $D/e2e.py --size 20x20x20 --seed 1 --order A,B --time 300 --b "$B" >> $D/e2e-20x20x20-s1.jsonl
PYTHONPATH=. $PY $D/e2e.py --size 20x20x20 --seed 3 --order A,B --time 300 --b "$B" >> $D/e2e-20x20x20-s3.jsonl
PYTHONPATH=. $PY $D/e2e.py --size 100x40x40 --order A,B,A,B --time 300 --b "$B" >> $D/e2e-100x40x40.jsonl
