#!/bin/sh
# Round 14: the split (default) against one HiGHS run (no-split) below 12x12x12, where fixed
# models are near the 1,000-column gate; auto start, 2 threads, 60 s, alternated.
python -m benchmarks.milp_starts --out results/milp/exact-r14-split-mid \
  --specs 8x8x12-s0,8x8x12-s1,8x8x12-s2,10x10x10-s0,10x10x10-s1,10x10x10-s2,12x12x15-s0,12x12x15-s1,15x15x15-s0 \
  --starts auto --fixing default,no-split --threads 2 --time-limit 60
