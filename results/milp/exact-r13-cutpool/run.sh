#!/bin/sh
# Round 13: the restart from HiGHS's root cuts (docs/milp.md, reduction 6) re-measured on the
# faster AMD machine. With HETSERVE_MILP_CUTPOOL=1 the variant "default" below is the
# restart ON; "no-cutpool" is the shipped default (restart off, link rows on demand on).
HETSERVE_MILP_CUTPOOL=1 python -m benchmarks.milp_starts --out results/milp/exact-r13-cutpool \
  --specs 20x20x20-s1,20x20x20-s3,12x12x12-s0,12x12x12-s3,20x20x20-s0 --starts auto \
  --fixing default,no-cutpool --threads 2 --time-limit 60
