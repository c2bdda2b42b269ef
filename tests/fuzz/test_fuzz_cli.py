"""Property-based fuzzing of every input the CLI reads (issue 10, "strict input").

Hostile mutations of instance files, plan files, demand CSVs and flag values go through
``hetserve``'s click ``main`` in process (a handful through real subprocesses) and every
run must end exactly one of the documented ways: exit 0 (a plan), 2 (bad input: one line
``error: ...``), 3 (infeasible) or 4 (no plan in the limits); never a traceback, never a
hang (a timer interrupts runs longer than a few seconds), and never a silent acceptance of
a value that is wrong whatever the field (a string or ``true`` where a number goes, a
number where a name goes, ``NaN``/``Infinity``/``1e999``, ``1e308``, a negative number,
an unknown field): those must exit 2. Hypothesis runs derandomized (fixed seed) with a
fixed number of examples, so a run is reproducible; the session's summary line gives the
number of cases tried (``fuzz: N cases tried``).
"""

from __future__ import annotations

import copy
import json
import signal
import subprocess
import sys
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hetserve.cli.main import main
from hetserve.instances import read_instance
from hetserve.instances.demand import DemandError, csv_demand

OK_CODES = {0, 2, 3, 4}
HANG_S = 20.0
SETTINGS = dict(derandomize=True, deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])

WRONG_FOR_NUMBER = [True, False, "5", "abc", "", None, [], {}, [1], {"a": 1}]
BAD_NUMBERS = [-1, -1e-9, 1e308, -1e308, 10**30, "NaN", "Infinity", "-Infinity", "1e999"]
WRONG_FOR_NAME = [5, 1.5, True, None, [], {}, "", " padded", "bell\x07", "x" * 300]
WRONG_FOR_BOOL = ["false", "true", 0, 1, None, "", [], 1.0]
FREE_TEXT = {"description", "source", "family", "price_date", "price_source", "spec_source"}
"""Fields that take any printable text (not names): only a non-string or a control
character is certainly wrong there."""
ODD_BUT_VALID = [0, 1, 2, 3, 0.5, 1e-9, 16, 8, 1e6, "[/]", "[red]chat", "x", "fp16", "L4"]
NULLABLE = {("budget",), ("storage_capacity_gb",), ("availability",), ("perf",)}
TOKENS = {"NaN": "NaN", "Infinity": "Infinity", "-Infinity": "-Infinity", "1e999": "1e999"}


class Hang(Exception):
    """Raised by the timer: the command ran longer than HANG_S."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise Hang


@pytest.fixture(autouse=True)
def _timer(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative output paths (e.g. `--mps abc`) land here
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def invoke(args: list[str]) -> Any:
    """Run ``hetserve ARGS`` in process under the hang timer."""
    signal.setitimer(signal.ITIMER_REAL, HANG_S)
    try:
        return CliRunner().invoke(main, args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def check(result: Any, what: str, *, must_reject: bool) -> None:
    """The documented outcomes only (module docstring)."""
    exc = result.exception
    assert not isinstance(exc, Hang), f"hang: {what}"
    assert exc is None or isinstance(exc, SystemExit), \
        f"traceback ({type(exc).__name__}: {exc}) for {what}"
    assert "Traceback" not in result.output, what
    assert result.exit_code in OK_CODES, f"exit {result.exit_code} for {what}: {result.output[-300:]}"
    if result.exit_code == 2:
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), \
            f"exit 2 must print one 'error:' line, got {result.output[-300:]!r} for {what}"
    if must_reject:
        assert result.exit_code == 2, f"accepted nonsense ({result.exit_code}): {what}"


# --------------------------------------------------------------------------- JSON documents


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    out = []
    if isinstance(doc, dict):
        items = list(doc.items())
    elif isinstance(doc, list):
        items = list(enumerate(doc))
    else:
        return out
    for key, value in items:
        out.append((*prefix, key))
        out.extend(_paths(value, (*prefix, key)))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "container"


def mutate(data: Any, doc: Any, *, lenient_top: bool = False) -> tuple[str, bool]:
    """Apply one hostile mutation to ``doc`` in place. Returns (JSON text, must_reject).
    ``lenient_top``: unknown top-level keys are allowed (a plan may be `solve --json`)."""
    paths = _paths(doc)
    path = data.draw(st.sampled_from(paths))
    parent, key = _get(doc, path[:-1]), path[-1]
    old = parent[key]
    kind = _kind(old)
    action = data.draw(st.sampled_from(["wrong-type", "bad-number", "token", "odd", "delete",
                                        "unknown-key"]))
    must_reject = False
    token = None
    if action == "delete":
        if isinstance(parent, dict):
            del parent[key]
        else:
            parent.pop(key)
    elif action == "unknown-key":
        target, at_top = (old, False) if isinstance(old, dict) else (parent, len(path) == 1)
        if isinstance(target, dict):
            target["colour"] = "red"
            must_reject = not (lenient_top and at_top)
    elif action == "odd":
        parent[key] = data.draw(st.sampled_from(ODD_BUT_VALID))
    elif kind == "number" and action in ("wrong-type", "bad-number", "token"):
        value = data.draw(st.sampled_from(WRONG_FOR_NUMBER if action == "wrong-type"
                                          else BAD_NUMBERS))
        if isinstance(value, str) and value in TOKENS:
            token, value = TOKENS[value], "__TOKEN__"
        parent[key] = value
        must_reject = not (value is None and path in NULLABLE)
    elif kind == "string" and action == "wrong-type":
        value = data.draw(st.sampled_from(WRONG_FOR_NAME))
        parent[key] = value
        must_reject = (key not in FREE_TEXT or not isinstance(value, str)
                       or not value.replace("\n", "").isprintable())
    elif kind == "bool" and action in ("wrong-type", "bad-number"):
        parent[key] = data.draw(st.sampled_from(WRONG_FOR_BOOL))
        must_reject = True
    else:
        wrong = {"bool": WRONG_FOR_BOOL, "number": WRONG_FOR_NUMBER,
                 "string": [5, None, [], {}, True]}.get(kind, WRONG_FOR_NUMBER)
        parent[key] = data.draw(st.sampled_from(wrong))
        must_reject = kind != "container"
    text = json.dumps(doc)
    if token is not None:
        text = text.replace('"__TOKEN__"', token)
    return text, must_reject


def raw_damage(data: Any, text: str) -> tuple[bytes, bool]:
    """Damage at the byte level: truncation, bad UTF-8, deep nesting, a BOM (valid)."""
    how = data.draw(st.sampled_from(["truncate", "latin1", "nest", "bom", "garbage"]))
    raw = text.encode()
    if how == "truncate":
        return raw[: data.draw(st.integers(0, max(0, len(raw) - 1)))], True
    if how == "latin1":
        cut = data.draw(st.integers(0, len(raw)))
        return raw[:cut] + b"\xe9\xff" + raw[cut:], True
    if how == "nest":
        depth = data.draw(st.sampled_from([65, 1000, 100_000]))
        return b"[" * depth + b"]" * depth, True
    if how == "bom":
        return b"\xef\xbb\xbf" + raw, False
    return data.draw(st.binary(min_size=0, max_size=64)), True


# --------------------------------------------------------------------------- instances

TINY = read_instance("tiny").to_dict()
CASES_INSTANCES = 400


def test_mutated_instances_are_refused_cleanly(tmp_path, tried):
    path = tmp_path / "x.json"
    methods = ["gh"] * 6 + ["dvr", "agh"]

    @settings(max_examples=CASES_INSTANCES, **SETTINGS)
    @given(st.data())
    def case(data):
        doc = copy.deepcopy(TINY)
        if data.draw(st.integers(0, 9)) == 0:
            raw, must_reject = raw_damage(data, json.dumps(doc))
            path.write_bytes(raw)
            what = f"raw {raw[:80]!r}"
        else:
            text, must_reject = mutate(data, doc)
            path.write_text(text)
            what = text[:400]
        method = data.draw(st.sampled_from(methods))
        check(invoke(["solve", str(path), "--method", method]), f"{method}: {what}",
              must_reject=must_reject)
        tried["instances"] += 1

    case()
    assert tried["instances"] >= CASES_INSTANCES


# --------------------------------------------------------------------------- plans

CASES_PLANS = 150


def test_mutated_plans_are_refused_cleanly(tmp_path, tried):
    done = invoke(["solve", "tiny", "--method", "gh", "--out", str(tmp_path / "plan.json")])
    assert done.exit_code == 0, done.output
    plan = json.loads((tmp_path / "plan.json").read_text())
    path = tmp_path / "mutated.json"

    @settings(max_examples=CASES_PLANS, **SETTINGS)
    @given(st.data())
    def case(data):
        doc = copy.deepcopy(plan)
        if data.draw(st.integers(0, 9)) == 0:
            raw, must_reject = raw_damage(data, json.dumps(doc))
            path.write_bytes(raw)
            what = f"raw {raw[:80]!r}"
        else:
            text, must_reject = mutate(data, doc, lenient_top=True)
            path.write_text(text)
            what = text[:400]
        check(invoke(["evaluate", "tiny", str(path)]), what, must_reject=must_reject)
        tried["plans"] += 1

    case()
    assert tried["plans"] >= CASES_PLANS


# --------------------------------------------------------------------------- demand CSVs

CASES_CSV = 200
HEADER = "timestamp,category,prompt_tokens,output_tokens"
CELLS = ["0", "1.5", "-3", "1e7", "1e400", "nan", "inf", "", "abc", "2023-11-16 18:15:46",
         "2023-13-45", "conversation", "chat", "code", "poetry", "100", "0", "10000001",
         "9" * 40, "1,5", '"q"', "\x00", "[/]"]
SMALL = read_instance("small-3x3x4")


def test_mutated_demand_csvs_are_refused_cleanly(tmp_path, tried):
    """Most CSVs go to the loader behind ``rolling --demand FILE.csv`` (a rolling run per
    valid CSV would take a second each); a few go through the CLI itself."""
    path = tmp_path / "d.csv"

    @settings(max_examples=CASES_CSV, **SETTINGS)
    @given(st.data())
    def case(data):
        rows = [HEADER if data.draw(st.integers(0, 9)) else
                data.draw(st.sampled_from(["time,cat,p,o", "", "\ufeff" + HEADER, "timestamp"]))]
        for _ in range(data.draw(st.integers(0, 6))):
            base = ["0", "conversation", "100", "10"]
            for _ in range(data.draw(st.integers(0, 2))):
                base[data.draw(st.integers(0, 3))] = data.draw(st.sampled_from(CELLS))
            rows.append(",".join(base[: data.draw(st.sampled_from([4, 4, 4, 2]))]))
        text = "\n".join(rows) + "\n"
        if data.draw(st.integers(0, 19)) == 0:
            path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
        else:
            path.write_text(text)
        horizon = data.draw(st.sampled_from([None, 600.0, 86_400.0]))
        signal.setitimer(signal.ITIMER_REAL, HANG_S)
        try:
            csv_demand(path, SMALL, window_s=300.0, horizon_s=horizon)
        except DemandError as exc:
            assert "\n" not in str(exc), str(exc)
        except Hang:
            pytest.fail(f"hang on CSV {text[:300]!r}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        tried["csv"] += 1

    case()
    for text, must_reject in (("timestamp,category,prompt_tokens,output_tokens\n"
                               "0,chat,nan,10\n", True),
                              ("\ufefftimestamp,category,prompt_tokens,output_tokens\n"
                               "0,conversation,100,10\n10000000,conversation,100,10\n", True),
                              ("timestamp,category,prompt_tokens,output_tokens\n"
                               "0,conversation,100,10\n", False)):
        path.write_text(text)
        check(invoke(["rolling", "tiny", "--demand", str(path), "--solver", "gh",
                      "--no-queueing", "--out", str(tmp_path / "r")]), text, must_reject=must_reject)
        tried["csv"] += 1
    assert tried["csv"] >= CASES_CSV


# --------------------------------------------------------------------------- flags

CASES_FLAGS = 260
ANY = ["nan", "inf", "-inf", "1e308", "-1", "0", "abc", "", "1e999", "5", "1.5",
       "99999999999999999999", "0x10", "1e-320", "[/]", "-0"]
NUMERIC = ["nan", "inf", "-inf", "1e308", "-1", "abc", "", "1e999", "99999999999999999999",
           "0x10", "[/]"]
"""Values no numeric flag of hetserve accepts."""
FLAGS: dict[str, tuple[list[str], dict[str, list[str]]]] = {
    # command prefix, {flag: extra hostile values}
    "solve": (["solve", "tiny", "--method", "gh"], {
        "--time-limit": [], "--mip-gap": ["1", "0.5"], "--threads": ["257", "2"], "--seed": ["4294967296"],
        "--method": ["foo", "milp"], "--warm-start": ["gh", "x"], "--robust": ["delay=nan", "delay=0.5",
                                                                              "x=1", "delay=1.2"],
        "--out": ["/nonexistent/dir/x.json", "/", "__TMP__"], "--log": ["/nonexistent/x.log"]}),
    "generate": (["generate", "--seed", "1", "--out", "__TMP__/g.json"], {
        "--size": ["3x3x73", "0x1x1", "1000000x1x1", "1001x1x1", "axbxc", "2x2x2", "2x2"],
        "--seed": ["4294967296"], "--scenario": ["tight-budget", "nope"]}),
    "export": (["export", "tiny"], {"--mps": ["/nonexistent/x.mps", "__TMP__/m.mps"],
                                    "--lp": ["/", "__TMP__/m.lp"]}),
    "pools": (["pools", "--workload", "lmsys", "--rate", "5", "--no-verify"], {
        "--rate": ["1e7", "1e8"], "--gamma": ["1:1e6:1e-6", "2:1:0.1", "1:2:0", "1,nan", "1:2:0.5"],
        "--boundary": ["nan", "0", "4096", "-5"], "--slo-ttft": ["0", "3601", "0.5"],
        "--quantile": ["1", "0", "0.9"], "--p-compress": ["2"], "--rho-max": ["1", "0.5"],
        "--long-context": ["1", "16777217", "4096"], "--verify-requests": ["99"],
        "--workload": ["/", "nope", "azure-code", "/nonexistent.json"], "--tp": ["17", "2"]}),
    "simulate": (["simulate", "--workload", "lmsys", "--rate", "5", "--requests", "200"], {
        "--requests": ["20000001", "50"], "--rate": ["1e8"], "--pools": ["x:1:1", "a100:0:1", "auto"],
        "--plan": ["/", "/nonexistent.json"], "--mode": ["slow"], "--seed": ["4294967296"]}),
    "rolling": (["rolling", "tiny", "--solver", "gh", "--no-queueing", "--windows", "1",
                 "--out", "__TMP__/r"], {
        "--window": ["1e12", "-5m", "10000d", "5x", "8d"], "--horizon": ["1e12", "10000d", "1m"],
        "--sigma": ["11"], "--ar": ["1", "0.5"], "--diurnal-amplitude": ["1"],
        "--ttft-slo": [], "--time-limit": ["86401"], "--windows": ["20001", "0"],
        "--demand": ["nope", "/", "/nonexistent.csv"], "--out": ["/nonexistent/x/../y", "/etc/passwd"]}),
}


def test_hostile_flag_values_are_refused_cleanly(tmp_path, tried):
    (tmp_path / "file").write_text("x")

    @settings(max_examples=CASES_FLAGS, **SETTINGS)
    @given(st.data())
    def case(data):
        command = data.draw(st.sampled_from(sorted(FLAGS)))
        if command == "rolling" and data.draw(st.integers(0, 3)):
            command = "solve"  # a valid rolling run takes a second: keep them few
        prefix, flags = FLAGS[command]
        flag = data.draw(st.sampled_from(sorted(flags)))
        values = [*ANY, *flags[flag]]
        value = data.draw(st.sampled_from(values))
        numeric = flag not in ("--method", "--warm-start", "--robust", "--out", "--log",
                               "--size", "--scenario", "--mps", "--lp", "--gamma", "--boundary",
                               "--workload", "--pools", "--plan", "--mode", "--window",
                               "--horizon", "--demand")
        must_reject = numeric and value in NUMERIC
        args = [a.replace("__TMP__", str(tmp_path)) for a in [*prefix, flag, value]]
        check(invoke(args), " ".join(args), must_reject=must_reject)
        tried["flags"] += 1

    case()
    assert tried["flags"] >= CASES_FLAGS


# --------------------------------------------------------------------------- real processes


def test_hostile_inputs_through_real_processes(tmp_path, tried):
    """A few cases as a user runs them: stderr carries one line, stdout stays clean."""
    nan = json.dumps(TINY).replace('"rate_per_s": 2.0', '"rate_per_s": NaN')
    (tmp_path / "nan.json").write_text(nan)
    (tmp_path / "latin1.json").write_bytes(json.dumps(TINY).encode()[:50] + b"\xe9")
    cases = [
        ["solve", str(tmp_path / "nan.json"), "--json"],
        ["solve", str(tmp_path / "latin1.json"), "--method", "gh"],
        ["generate", "--size", "3x3x9999", "--seed", "1", "--out", str(tmp_path / "g.json")],
        ["pools", "--workload", "azure-conv", "--rate", "nan"],
        ["rolling", "paper-base", "--horizon", "10000d", "--windows", "2", "--out", str(tmp_path)],
    ]
    procs = [subprocess.Popen([sys.executable, "-m", "hetserve.cli", *args], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=tmp_path) for args in cases]
    for args, proc in zip(cases, procs):
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(f"hang: hetserve {' '.join(args)}")
        assert proc.returncode == 2, (args, out, err)
        assert out == "" and len(err.strip().splitlines()) == 1 and err.startswith("error: "), \
            (args, out, err)
        assert "Traceback" not in err
        tried["subprocess"] += 1
    assert not (tmp_path / "g.json").exists()
