#!/bin/sh
# Round 14: 20x20x20 s1 to the end with the split (the default with two threads), 600 s limit;
# round 13's one HiGHS run on this machine proved it in 143.7 s (exact-r13-s1-long/).
python -m benchmarks.milp_starts --out results/milp/exact-r14-s1-long \
  --specs 20x20x20-s1 --starts auto --fixing default --threads 2 --time-limit 600
