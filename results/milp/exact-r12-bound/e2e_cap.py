"""results/milp/exact-r9-closetime/e2e.py with milp.bound.TARGET_SIZING_MAX_ROUTES set from
the environment (HETSERVE_TARGET_MAX_ROUTES; round 12's cap against none)."""
import os
import runpy
import sys

from hetserve.milp import bound

bound.TARGET_SIZING_MAX_ROUTES = float(os.environ.get("HETSERVE_TARGET_MAX_ROUTES", "inf"))
sys.argv[0] = "results/milp/exact-r9-closetime/e2e.py"
runpy.run_path("results/milp/exact-r9-closetime/e2e.py", run_name="__main__")
