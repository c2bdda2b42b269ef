"""Link rows on demand: the loop from nothing against the loop seeded with the link rows
of the fixing LP's support (round 13). On the fixed model ``milp.solve`` builds for each
spec, alternated, two repetitions: rounds, seconds, rows kept and the LP value reached (the
same LP either way: the loop adds violated rows until none is left).

``PYTHONPATH=. python results/milp/exact-r13-linkseed/loop.py 12x12x12-s0,12x12x12-s3,...``
needs ``select_link_rows(start_configs=...)`` of commit f5e6b6e (``git checkout f5e6b6e --
milp/link_rows.py``): the seed saved 1–7 of 76–97 rounds and no time (``loop.jsonl``), so the
parameter was not kept.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np

from hetserve.milp.link_rows import select_link_rows

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "exact-r3-probe"))
from explore import fixed_of

if __name__ == "__main__":
    for spec in sys.argv[1].split(","):
        _inst, _warm, fm = fixed_of(spec)
        am = fm.am
        support = np.asarray(fm.fixing.lp_w)[am.index.cfg] > 1e-6
        for rep in range(2):
            for variant, start in (("empty", None), ("support", support)):
                sel = select_link_rows(am, 0, start_configs=start)
                print(json.dumps({"spec": spec, "rep": rep, "variant": variant,
                                  "support_configs": int(support.sum()),
                                  "load": os.getloadavg()[0],
                                  **({} if sel is None else sel.stats())}), flush=True)
