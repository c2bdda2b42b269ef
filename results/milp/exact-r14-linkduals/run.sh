#!/bin/sh
# Round 14 (needs commit 63bd54a, reverted after it): the link rows HiGHS gets, chosen by the cutting-plane loop (default) or by one
# dual-simplex solve of the full LP (rows with a non-zero dual + tight rows on open
# configurations), alternated per instance in one process.
python -m benchmarks.milp_starts --out results/milp/exact-r14-linkduals \
  --specs 12x12x12-s0,12x12x12-s1,12x12x12-s2,12x12x12-s3,12x12x12-s4,20x20x20-s0,20x20x20-s2,20x20x20-s3,20x20x20-s4 \
  --starts auto --fixing default,linkrows-duals --threads 2 --time-limit 60
# second repetition, the variants in the other order, into rep2/
python -m benchmarks.milp_starts --out results/milp/exact-r14-linkduals/rep2 \
  --specs 12x12x12-s0,12x12x12-s1,12x12x12-s2,12x12x12-s3,12x12x12-s4,20x20x20-s0,20x20x20-s3,20x20x20-s4 \
  --starts auto --fixing linkrows-duals,default --threads 2 --time-limit 60
