#!/bin/sh
# Round 14: the CLI end to end at 50x30x30 s0 with the split on by default (agh-bound, two
# threads, 300 s), for time and peak memory (goal <= 2 GB; 1.10 GB in large-bound-3/).
hetserve generate --size 50x30x30 --seed 0 --out /tmp/g50.json
/usr/bin/time -v hetserve solve /tmp/g50.json --method agh-bound --time-limit 300 --json \
    > results/milp/exact-r14-bound50/agh-bound-50x30x30-s0.json 2> /tmp/time-v50.txt
grep -E "Elapsed|Maximum res|User time|System time" /tmp/time-v50.txt > results/milp/exact-r14-bound50/time-v.txt
