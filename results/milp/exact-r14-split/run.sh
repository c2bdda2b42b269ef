#!/bin/sh
# Round 14: the split on the start's costliest configuration (milp/split.py, on by default
# with two threads) against one HiGHS on the whole model (variant no-split), alternated per
# instance in one process; auto start, 2 threads, 60 s.
python -m benchmarks.milp_starts --out results/milp/exact-r14-split \
  --specs 12x12x12-s0,12x12x12-s1,12x12x12-s2,12x12x12-s3,12x12x12-s4,20x20x20-s0,20x20x20-s1,20x20x20-s2,20x20x20-s3,20x20x20-s4 \
  --starts auto --fixing default,no-split --threads 2 --time-limit 60
# second repetition, the variants in the other order, into rep2/
python -m benchmarks.milp_starts --out results/milp/exact-r14-split/rep2 \
  --specs 12x12x12-s0,12x12x12-s2,12x12x12-s3,12x12x12-s4,20x20x20-s0,20x20x20-s2,20x20x20-s3,20x20x20-s4 \
  --starts auto --fixing no-split,default --threads 2 --time-limit 60
