#!/bin/sh
# Support MIP on ("new") vs off ("old", HETSERVE_MILP_SUPPORT_MIP=0), alternated per
# instance (the order flips each time), each run its own `benchmarks.milp_starts` process.
# Run from the worktree root: sh results/milp/exact-12-root/run.sh [OUT]
OUT=${1:-results/milp/exact-12-root}
k=0
for spec in 12x12x12-s0 12x12x12-s1 12x12x12-s2 12x12x12-s3 12x12x12-s4 \
            paper-base-base paper-base-base paper-base-base; do
  if [ $((k % 2)) -eq 0 ]; then order="new old"; else order="old new"; fi
  for v in $order; do
    if [ "$v" = old ]; then flag=0; else flag=1; fi
    HETSERVE_MILP_SUPPORT_MIP=$flag python -m benchmarks.milp_starts --specs "$spec" \
      --starts auto --threads 2 --time-limit 60 --out "$OUT/raw/$k-$spec-$v"
  done
  k=$((k + 1))
done
