"""Where HiGHS writes its log: nowhere by default, standard error or a file when asked.

Standard output belongs to the program (``hetserve solve --json`` writes exactly one JSON
document there), so no solver call of the library may write to it. HiGHS has three ways of
doing so, each closed here:

1. **The banner.** highspy ≥ 1.9 prints "Running HiGHS … Copyright …" from the C++
   constructor of the first ``Highs`` object of the process, before any option can be set
   (HiGHS's ``output_flag`` defaults to true). HiGHS prints it once per process, so
   :func:`silence_banner` builds that first object with file descriptor 1 pointed at the
   null device; every later ``highspy.Highs()`` (ours or PuLP's) is silent.
2. **The run log.** Every object is created with ``output_flag`` off (:func:`new_highs`).
3. **A log the user asked for** (``hetserve solve --verbose`` / ``--log FILE``):
   :func:`configure` turns the log on; :func:`run` sends HiGHS's console output to
   standard error by pointing descriptor 1 at descriptor 2 while HiGHS runs, and a file
   log goes through HiGHS's own ``log_file`` option.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import highspy

__all__ = ["QUIET", "SolverLog", "configure", "new_highs", "run", "silence_banner"]


@dataclass(frozen=True)
class SolverLog:
    """Where the MILP solver's log goes: ``to_stderr`` and/or ``file`` (both off: nowhere)."""

    to_stderr: bool = False
    file: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.to_stderr, bool):
            raise ValueError(f"to_stderr must be true or false, got {self.to_stderr!r}")
        if self.file is not None and (not isinstance(self.file, str) or not self.file):
            raise ValueError(f"file must be a non-empty path, got {self.file!r}")

    @property
    def on(self) -> bool:
        return self.to_stderr or self.file is not None


QUIET = SolverLog()
_banner_done = False


def _flush_c_stdio() -> None:
    """Flush the C library's stdout buffer (what HiGHS printed but has not written yet)."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def _fd1_to(target_fd: int) -> Iterator[None]:
    """Point file descriptor 1 at ``target_fd`` for the block (C++ output included)."""
    try:
        saved = os.dup(1)
    except OSError:  # no descriptor 1 at all (e.g. a daemon): nothing to protect
        yield
        return
    sys.stdout.flush()
    os.dup2(target_fd, 1)
    try:
        yield
    finally:
        _flush_c_stdio()
        os.dup2(saved, 1)
        os.close(saved)


def silence_banner() -> None:
    """Build the process's first ``Highs`` object with its banner sent to the null device.
    Idempotent; call it before anything (e.g. PuLP) creates a ``Highs`` object."""
    global _banner_done
    if _banner_done:
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        with _fd1_to(devnull):
            highspy.Highs().setOptionValue("output_flag", False)
    finally:
        os.close(devnull)
    _banner_done = True


def configure(h: highspy.Highs, log: SolverLog = QUIET) -> None:
    """Set ``h``'s logging options for ``log`` (all output off for :data:`QUIET`)."""
    h.setOptionValue("output_flag", log.on)
    h.setOptionValue("log_to_console", log.to_stderr)
    if log.file is not None:
        h.setOptionValue("log_file", log.file)


def new_highs(log: SolverLog = QUIET) -> highspy.Highs:
    """A ``highspy.Highs`` object that writes nothing to standard output."""
    silence_banner()
    h = highspy.Highs()
    configure(h, log)
    return h


def _option(h: highspy.Highs, name: str) -> object:
    value = h.getOptionValue(name)  # highspy 1.16 returns (status, value); older, the value
    return value[1] if isinstance(value, tuple) else value


def run(h: highspy.Highs) -> highspy.HighsStatus:
    """``h.run()``, with any console log HiGHS writes sent to standard error."""
    if _option(h, "output_flag") and _option(h, "log_to_console"):
        with _fd1_to(2):
            return h.run()
    return h.run()
