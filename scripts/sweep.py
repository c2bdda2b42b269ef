"""A resumable sweep runner on dask.distributed, shared by ``bench`` and ``stress``.

A sweep is a list of :class:`Task` (a key that names the run, a picklable top-level
function and its keyword arguments). Each finished task's row is appended to a CSV file
at once, so an interrupted sweep loses nothing; running the same sweep again skips every
task whose key is already in the file. ``workers=0`` runs in this process (tests, tiny
sets); otherwise a local dask cluster with one single-threaded process per worker is
started, or an existing scheduler is used when its address is given, so the same sweep
runs on a cluster unchanged.

Resume safety. A sweep folder records the settings its rows were made with in
``settings.json`` (:func:`prepare_out`: time limit, threads, methods, ... plus the hetserve
version and git commit). Writing into a non-empty folder needs ``resume=True``, and
resuming refuses when any recorded setting differs from the current one, so rows made under
other settings (or committed results) are never mixed with or overwritten by new ones.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@dataclass(frozen=True)
class Task:
    """One run: ``key`` (values of the sweep's key columns), ``fn(**kwargs) -> row dict``."""

    key: tuple[str, ...]
    fn: Callable[..., dict[str, Any]]
    kwargs: dict[str, Any] = field(default_factory=dict)


def read_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _append(path: Path, fieldnames: Sequence[str], row: dict[str, Any]) -> None:
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(fieldnames), extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerow(row)
        fh.flush()
        os.fsync(fh.fileno())


def run_sweep(tasks: Iterable[Task], out_csv: Path, *, key_fields: Sequence[str],
              fieldnames: Sequence[str], workers: int = 2, scheduler: str | None = None,
              progress: bool = True, description: str = "runs") -> list[dict[str, str]]:
    """Run every task not yet in ``out_csv``; return all rows of the file afterwards.

    Parameters
    ----------
    key_fields
        Columns whose values identify a run (must be the first fields of every row and
        equal ``Task.key`` as strings).
    fieldnames
        The CSV columns, in order (``key_fields`` included).
    workers
        0: run here, serially; n ≥ 1: a local dask cluster of n processes.
    scheduler
        Address of a running dask scheduler (overrides ``workers``).
    """
    out_csv = Path(out_csv)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    done = {tuple(row[k] for k in key_fields) for row in read_rows(out_csv)}
    todo = [t for t in tasks if tuple(str(v) for v in t.key) not in done]
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), disable=not progress, transient=False) as bar:
        job = bar.add_task(f"{description} ({len(done)} already done)", total=len(todo))
        if not todo:
            return read_rows(out_csv)
        if workers == 0 and scheduler is None:
            for task in todo:
                _append(out_csv, fieldnames, task.fn(**task.kwargs))
                bar.advance(job)
        else:
            from dask.distributed import Client, LocalCluster, as_completed

            if scheduler is not None:
                client = Client(scheduler)
                cluster = None
            else:
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
                client = Client(cluster)
            try:
                futures = [client.submit(t.fn, **t.kwargs, pure=False) for t in todo]
                for fut in as_completed(futures):
                    _append(out_csv, fieldnames, fut.result())
                    bar.advance(job)
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
    return read_rows(out_csv)


def machine_meta() -> dict[str, Any]:
    """CPU model, cores, Python, git commit and package versions, for every meta.json."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=False, cwd=Path(__file__).resolve().parent).stdout.strip()
    except OSError:
        commit = ""

    def ver(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "git_commit": commit or "unknown",
            "versions": {n: ver(n) for n in ("hetserve", "pulp", "highspy", "numpy", "scipy",
                                              "dask", "distributed")}}


SETTINGS_FILE = "settings.json"


class ResumeRefused(ValueError):
    """The output folder holds runs made under other (or unrecorded) settings."""


def run_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` plus the code version (hetserve version, git commit), as JSON values."""
    meta = machine_meta()
    full = {**settings, "hetserve_version": meta["versions"]["hetserve"],
            "git_commit": meta["git_commit"]}
    return json.loads(json.dumps(full, default=str))


def prepare_out(out: Path, settings: dict[str, Any], *, resume: bool,
                resumable: bool = True) -> None:
    """Make ``out`` ready for a sweep run with ``settings`` (see the module docstring).

    Raises :class:`ResumeRefused` (one line naming the reason) when ``out`` is not empty and
    ``resume`` is off, or when ``resume`` is on and ``out`` records no settings or other ones.
    ``resumable=False`` (a driver without ``--resume``) only ever accepts a new or empty
    folder.
    """
    out = Path(out)
    current = run_settings(settings)
    path = out / SETTINGS_FILE
    if out.exists() and any(out.iterdir()):
        if not resumable:
            raise ResumeRefused(f"--out: {out} is not empty; give a new or empty folder")
        if not resume:
            raise ResumeRefused(f"--out: {out} is not empty; pass --resume to continue the run "
                                "recorded there, or give a new folder")
        if not path.exists():
            raise ResumeRefused(f"--resume: {out} has no {SETTINGS_FILE}, so its runs cannot be "
                                "checked against the current settings; give a new --out")
        recorded = json.loads(path.read_text())
        diff = [k for k in sorted(set(recorded) | set(current))
                if recorded.get(k) != current.get(k)]
        if diff:
            changes = "; ".join(f"{k} was {recorded.get(k)!r}, now {current.get(k)!r}"
                                for k in diff)
            raise ResumeRefused(f"--resume: {out} was run with other settings ({changes}); "
                                "give a new --out")
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
