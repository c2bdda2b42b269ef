#!/bin/sh
# Round 14, the AMD EPYC machine of rounds 12-14: hetserve's exact solve against HiGHS, CBC and
# SCIP 10 (pyscipopt in its own virtualenv, /work/venvs/scip) on hetserve's exported MPS,
# one thread each, the order rotated; paper-base five times (medians), then two larger models
# once with a 120 s limit.
python -m benchmarks.milp_side_by_side --out results/milp/side-by-side-r14 --threads 1 \
  --time-limit 60 --instances paper-base --repeats 5 --scip-python /work/venvs/scip/bin/python
python -m benchmarks.milp_side_by_side --out results/milp/side-by-side-r14-large --threads 1 \
  --time-limit 120 --instances 12x12x12-s3,20x20x20-s2 --scip-python /work/venvs/scip/bin/python
