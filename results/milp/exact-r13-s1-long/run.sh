#!/bin/sh
# Round 13: 20x20x20 s1 (the `paper` seed that misses the minute) solved to the end by the
# shipped default path, 2 threads, 900 s limit, HiGHS's log kept (AMD EPYC, rounds 12-13).
hetserve generate --size 20x20x20 --seed 1 --out /tmp/g20s1.json
/usr/bin/time -v hetserve solve /tmp/g20s1.json --time-limit 900 \
    --log results/milp/exact-r13-s1-long/highs.log --json > results/milp/exact-r13-s1-long/solve.json
