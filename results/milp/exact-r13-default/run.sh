#!/bin/sh
# Round 13: the shipped default (auto start, 2 threads, 60 s) on the ten goal instances.
python -m benchmarks.milp_starts --out results/milp/exact-r13-default \
  --specs 12x12x12-s0,12x12x12-s1,12x12x12-s2,12x12x12-s3,12x12x12-s4,20x20x20-s0,20x20x20-s1,20x20x20-s2,20x20x20-s3,20x20x20-s4 \
  --starts auto --fixing default --threads 2 --time-limit 60
