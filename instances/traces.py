"""The request traces and token tables hetserve ships, and the one reader of trace CSVs.

Bundled data (package data under ``instances/data/``, listed by ``hetserve info``):

``traces/AzureLLMInferenceTrace_{code,conv}.csv.gz``
    The Azure LLM inference traces 2023 (code and conversation services, about one hour
    each; Patel et al., "Splitwise: Efficient generative LLM inference using phase
    splitting", ISCA 2024; data under CC-BY 4.0, see ``NOTICE``): the unmodified CSV files,
    gzip-compressed (:data:`AZURE_SHA256` holds the SHA-256 of the uncompressed files).
``workloads/*.json``
    Token-length CDFs tabulated by the FleetOpt fleet simulator (arXiv 2603.16514).

Nothing outside the installed package is read unless the user names it: a CSV path given
on the command line, or the environment variable ``HETSERVE_AZURE_DIR`` (a directory with
``AzureLLMInferenceTrace_code.csv`` and ``..._conv.csv``), which replaces the bundled
Azure traces.

A trace CSV has the Azure header ``TIMESTAMP,ContextTokens,GeneratedTokens`` (a UTF-8
byte-order mark is accepted); timestamps are ISO dates (``2023-11-16 18:15:46.6805900``);
token counts are integers in [0, 10^7] (a count of 0 is read as 1: every request has a
token in and out).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from hetserve.instances import fields
from hetserve.instances.errors import InstanceError

AZURE_TRACES = {"azure-code": "code", "azure-conv": "conv"}
"""Trace names accepted wherever a trace is asked for → Azure service."""
AZURE_ENV = "HETSERVE_AZURE_DIR"
AZURE_SHA256 = {
    "code": "54e9a6d2a4bd06ba1e060304b900abbc74cbea53de96506e60fe5bb4f2277fb6",
    "conv": "2f1e5b666d4e3055fdbba98598ce2ec307767b9064e03e2fa46676dbcc7d0bf8",
}
HEADER = ["TIMESTAMP", "ContextTokens", "GeneratedTokens"]
MAX_TRACE_BYTES = 256 * 2**20
"""Largest trace CSV read (the bundled ones are 0.3 and 0.7 MB)."""
MAX_TRACE_ROWS = 2_000_000
MAX_TOKENS = 10**7
MAX_SPAN_S = 366 * 86_400.0
"""Longest time span of a trace (one year)."""

_DATA = "hetserve.instances"


@dataclass(frozen=True)
class Trace:
    """A request trace: arrival times (s from the first request, sorted), prompt and output
    tokens (each ≥ 1). ``source`` says where it was read from."""

    name: str
    arrival_s: np.ndarray = field(repr=False)
    prompt_tokens: np.ndarray = field(repr=False)
    output_tokens: np.ndarray = field(repr=False)
    source: str = ""

    def __post_init__(self) -> None:
        n = len(self.arrival_s)
        if len(self.prompt_tokens) != n or len(self.output_tokens) != n:
            raise ValueError("prompt_tokens: trace columns must have equal length")
        if n and np.any(np.diff(self.arrival_s) < 0):
            raise ValueError("arrival_s: arrival times must be sorted")

    def __len__(self) -> int:
        return len(self.arrival_s)

    @property
    def duration_s(self) -> float:
        return float(self.arrival_s[-1] - self.arrival_s[0]) if len(self) > 1 else 0.0

    @property
    def rate(self) -> float:
        return (len(self) - 1) / self.duration_s if self.duration_s > 0 else 0.0


# ---------------------------------------------------------------------------- parsing


def parse_trace_csv(text: str, where: str, name: str, source: str) -> Trace:
    """Parse Azure-format CSV text strictly (module docstring); errors name the row."""
    rows = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = next(rows, None)
    if header is None or [h.strip() for h in header[:3]] != HEADER:
        raise InstanceError(where, f"header must start with {','.join(HEADER)}, got "
                            f"{','.join(header or [])[:80]!r}")
    stamps: list[str] = []
    tokens: list[tuple[int, int]] = []
    for k, row in enumerate(rows, start=2):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) < 3:
            raise InstanceError(f"{where} line {k}", f"expected 3 columns, got {len(row)}")
        if len(stamps) >= MAX_TRACE_ROWS:
            raise InstanceError(where, f"more than {MAX_TRACE_ROWS:,} rows")
        stamps.append(row[0].strip().replace(" ", "T"))
        tokens.append((_count(row[1], f"{where} line {k} ContextTokens"),
                       _count(row[2], f"{where} line {k} GeneratedTokens")))
    if not stamps:
        raise InstanceError(where, "has no rows")
    try:
        ts = np.array(stamps, dtype="datetime64[ns]")
    except ValueError:
        for k, s in enumerate(stamps, start=2):
            try:
                np.datetime64(s, "ns")
            except ValueError:
                raise InstanceError(f"{where} line {k} TIMESTAMP",
                                    f"not a date and time: {s[:40]!r}") from None
        raise
    if np.isnat(ts).any():
        k = int(np.flatnonzero(np.isnat(ts))[0]) + 2
        raise InstanceError(f"{where} line {k} TIMESTAMP", "not a date and time")
    order = np.argsort(ts, kind="stable")
    ts = ts[order]
    t = (ts - ts[0]).astype(np.int64) / 1e9
    if t[-1] > MAX_SPAN_S:
        raise InstanceError(where, f"spans {t[-1] / 86_400:.0f} days; at most 366 are read")
    tok = np.asarray(tokens, dtype=np.int64)[order]
    arrays = (t, np.maximum(tok[:, 0], 1), np.maximum(tok[:, 1], 1))
    for a in arrays:
        a.setflags(write=False)  # cached and shared: read-only
    return Trace(name, *arrays, source=source)


def _count(cell: str, where: str) -> int:
    text = cell.strip()
    if not text.isdigit() or len(text) > 8:
        raise InstanceError(where, f"expected a token count (an integer >= 0), got {text[:40]!r}")
    return fields.integer(int(text), where, lo=0, hi=MAX_TOKENS)


# ---------------------------------------------------------------------------- loading


def azure_trace(service: str) -> Trace:
    """The Azure 2023 ``code`` or ``conv`` trace (bundled, or from ``HETSERVE_AZURE_DIR``)."""
    service = AZURE_TRACES.get(service, service)
    if service not in AZURE_SHA256:
        raise InstanceError("trace", f"Azure service {service!r} not understood; expected "
                            "code or conv")
    return _azure_trace(service, os.environ.get(AZURE_ENV) or None)


@lru_cache(maxsize=4)
def _azure_trace(service: str, override: str | None) -> Trace:
    file = f"AzureLLMInferenceTrace_{service}.csv"
    name = f"azure-{service}"
    if override is not None:
        path = Path(override) / file
        if not path.is_file():
            raise InstanceError(AZURE_ENV, f"{path} does not exist (unset {AZURE_ENV} to use "
                                "the bundled traces)")
        return parse_trace_csv(fields.read_text(path, max_bytes=MAX_TRACE_BYTES), str(path),
                               name, str(path))
    data = (resources.files(_DATA) / "data" / "traces" / f"{file}.gz").read_bytes()
    return parse_trace_csv(gzip.decompress(data).decode("utf-8"), file, name,
                           f"bundled {file} (Azure LLM inference traces 2023, CC-BY 4.0)")


def read_trace_csv(path: str | Path) -> Trace:
    """A trace CSV the user named (Azure format; module docstring)."""
    p = Path(path)
    try:
        stat = p.stat()
    except OSError as exc:
        raise InstanceError(str(p), f"cannot read file ({exc.strerror or exc})") from None
    return _read_trace_csv(str(p), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _read_trace_csv(path: str, _mtime_ns: int, _size: int) -> Trace:
    text = fields.read_text(path, max_bytes=MAX_TRACE_BYTES)
    return parse_trace_csv(text, path, Path(path).stem, path)


def load_trace(name_or_path: str) -> Trace:
    """``azure-conv`` | ``azure-code`` | the path of a trace CSV."""
    if name_or_path in AZURE_TRACES:
        return azure_trace(name_or_path)
    return read_trace_csv(name_or_path)


# ---------------------------------------------------------------------------- workloads


def workload_names() -> tuple[str, ...]:
    """Names of the bundled token CDFs (``instances/data/workloads/*.json``)."""
    folder = resources.files(_DATA) / "data" / "workloads"
    return tuple(sorted(f.name.removesuffix(".json") for f in folder.iterdir()
                        if f.name.endswith(".json")))


@lru_cache(maxsize=16)
def workload_table(name: str) -> dict[str, Any]:
    """The JSON document of a bundled token CDF: ``{"name", "source", "out_frac", "cdf"}``."""
    if name not in workload_names():
        raise InstanceError("workload", f"no bundled workload {name!r}; bundled: "
                            f"{', '.join(workload_names())}")
    file = f"{name}.json"
    text = (resources.files(_DATA) / "data" / "workloads" / file).read_text("utf-8")
    return fields.obj(fields.parse_json(text, file), file)


# ---------------------------------------------------------------------------- listing


def bundled_data() -> list[dict[str, Any]]:
    """Every bundled data file (for ``hetserve info``): kind, name, file, bytes, source."""
    root = resources.files(_DATA) / "data"
    out: list[dict[str, Any]] = []
    for service in sorted(AZURE_SHA256):
        file = f"AzureLLMInferenceTrace_{service}.csv.gz"
        out.append({"kind": "trace", "name": f"azure-{service}", "file": f"traces/{file}",
                    "bytes": len((root / "traces" / file).read_bytes()),
                    "source": "Azure LLM inference traces 2023 (Patel et al., ISCA 2024), "
                              "CC-BY 4.0"})
    for name in workload_names():
        file = f"{name}.json"
        out.append({"kind": "workload CDF", "name": name, "file": f"workloads/{file}",
                    "bytes": len((root / "workloads" / file).read_bytes()),
                    "source": str(workload_table(name).get("source", ""))})
    return out
