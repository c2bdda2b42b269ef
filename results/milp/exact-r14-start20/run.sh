#!/bin/sh
# Round 14: at 20x20x20, the auto start (AGH with its fleet MIP, above 50k usable routes)
# against the full AGH without its fleet MIP, now that the support MIP and the fixing run
# after either; rotated per instance, one process, 2 threads, 60 s.
python -m benchmarks.milp_starts --out results/milp/exact-r14-start20 \
  --specs 20x20x20-s0,20x20x20-s1,20x20x20-s2,20x20x20-s3,20x20x20-s4 \
  --starts auto,agh --threads 2 --time-limit 60
