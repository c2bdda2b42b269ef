#!/bin/sh
# Round 13: the shipped CLI end to end at 100x40x40 s0 (agh-bound, its defaults: 2 threads,
# the 28k-route target cap), 300 s for the bound, on the AMD EPYC machine of rounds 12-13.
hetserve generate --size 100x40x40 --seed 0 --out /tmp/g100.json
/usr/bin/time -v hetserve solve /tmp/g100.json --method agh-bound --time-limit 300 --json \
    > results/milp/exact-r13-bound-cli/agh-bound-100x40x40-s0.json 2> /tmp/time-v.txt
grep -E "Elapsed|Maximum res|User time|System time" /tmp/time-v.txt > results/milp/exact-r13-bound-cli/time-v.txt
