"""Click parameter types that validate every flag, and the one-line error every command prints.

Each type refuses what the commands cannot use and says why in one line (the flag is named
by click): numbers must be finite and inside the range the command documents (``nan``,
``inf``, ``1e308`` are refused), integers are bounded, durations have units and bounds,
output files need an existing directory, output directories a writable place, input files
must exist and be files. :class:`OneLineErrors` is the ``hetserve`` group's class: a usage
error becomes ``error: <what and why>`` on one line with exit code 2 (click's default is a
usage block over four lines).
"""

from __future__ import annotations

import math
import os
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from hetserve.cli.errors import BadInput

SEED_MAX = 2**32 - 1
"""Seeds are unsigned 32-bit integers (what HiGHS's ``random_seed`` and numpy accept)."""


class OneLineErrors(click.Group):
    """A group whose usage errors print as one line: ``error: <message>`` (exit code 2)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        except click.ClickException as exc:
            if (isinstance(exc, click.BadParameter) and exc.param is not None and exc.message
                    and not isinstance(exc, click.MissingParameter)):
                click.echo(f"error: {_flag(exc.param)}: {_one_line(exc.message)}", err=True)
            elif isinstance(exc, click.UsageError):
                click.echo(f"error: {_one_line(exc.format_message())}", err=True)
            else:
                exc.show()
            sys.exit(exc.exit_code)


def _one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text.strip())


def _flag(param: click.Parameter | None) -> str:
    if isinstance(param, click.Option) and param.opts:
        return max(param.opts, key=len)
    return param.human_readable_name if param is not None else "value"


class _Checked(click.ParamType):
    """Base of the types below: a refusal is a :class:`BadInput` naming the flag, so it
    prints as one line (``error: --flag: reason``, exit 2) however the command is invoked."""

    def fail(self, message: str, param: click.Parameter | None = None,
             ctx: click.Context | None = None) -> NoReturn:
        raise BadInput(f"{_flag(param)}: {message}")


class Number(_Checked):
    """A finite float in ``[lo, hi]`` (either end open as asked)."""

    name = "number"

    def __init__(self, lo: float = -math.inf, hi: float = math.inf, *, lo_open: bool = False,
                 hi_open: bool = False) -> None:
        self.lo, self.hi, self.lo_open, self.hi_open = lo, hi, lo_open, hi_open

    def _range(self) -> str:
        left = "(" if self.lo_open else "["
        right = ")" if self.hi_open else "]"
        return f"{left}{self.lo:g}, {self.hi:g}{right}"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, bool):
            self.fail(f"{value!r} is not a number", param, ctx)
        try:
            x = float(value)
        except (TypeError, ValueError, OverflowError):
            self.fail(f"{str(value)[:40]!r} is not a number", param, ctx)
        if not math.isfinite(x):
            self.fail(f"{str(value)[:40]!r} is not a finite number", param, ctx)
        low = x <= self.lo if self.lo_open else x < self.lo
        high = x >= self.hi if self.hi_open else x > self.hi
        if low or high:
            self.fail(f"{x:g} is not in {self._range()}", param, ctx)
        return x


class Integer(_Checked):
    """An integer in ``[lo, hi]`` (decimal digits only, at most 12 of them)."""

    name = "integer"

    def __init__(self, lo: int = 0, hi: int = 10**9) -> None:
        self.lo, self.hi = lo, hi

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            n = value
        else:
            text = str(value).strip()
            body = text[1:] if text[:1] in "+-" else text
            if not body.isdigit() or len(body) > 12:
                self.fail(f"{text[:40]!r} is not an integer", param, ctx)
            n = int(text)
        if not self.lo <= n <= self.hi:
            self.fail(f"{n} is not in [{self.lo}, {self.hi}]", param, ctx)
        return n


SEED = Integer(0, SEED_MAX)


class Duration(_Checked):
    """A duration such as ``5m``, ``24h``, ``90`` (seconds) in ``[lo_s, hi_s]`` seconds."""

    name = "duration"

    def __init__(self, lo_s: float = 1.0, hi_s: float = 366 * 86_400.0) -> None:
        self.lo_s, self.hi_s = lo_s, hi_s

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        from hetserve.instances.demand import DemandError, parse_duration

        if isinstance(value, float):
            seconds = value
        else:
            try:
                seconds = parse_duration(str(value))
            except DemandError as exc:
                self.fail(str(exc), param, ctx)
        if not (math.isfinite(seconds) and self.lo_s <= seconds <= self.hi_s):
            self.fail(f"{str(value)[:40]!r} is not between {self.lo_s:g} s and "
                      f"{self.hi_s:g} s ({self.hi_s / 86_400:g} days)", param, ctx)
        return seconds


class OutputFile(_Checked):
    """A file to write: its directory must exist and be writable; it must not be a directory."""

    name = "file"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        path = Path(value)
        text = str(value)
        if not text or "\0" in text:
            self.fail("not a file name", param, ctx)
        if path.is_dir():
            self.fail(f"{text[:80]} is a directory", param, ctx)
        parent = path.parent
        if not parent.is_dir():
            self.fail(f"directory {str(parent)[:80]} does not exist", param, ctx)
        if not os.access(parent, os.W_OK):
            self.fail(f"directory {str(parent)[:80]} is not writable", param, ctx)
        return path


class OutputDir(_Checked):
    """A directory to write into (created if missing): no file may sit on its path and its
    nearest existing ancestor must be a writable directory."""

    name = "directory"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        path = Path(value)
        text = str(value)
        if not text or "\0" in text:
            self.fail("not a directory name", param, ctx)
        probe = path
        while not probe.exists():
            if probe.parent == probe:
                break
            probe = probe.parent
        if probe.exists() and not probe.is_dir():
            self.fail(f"{str(probe)[:80]} is a file, not a directory", param, ctx)
        if probe.exists() and not os.access(probe, os.W_OK):
            self.fail(f"directory {str(probe)[:80]} is not writable", param, ctx)
        return path


class InputFile(_Checked):
    """An existing, readable regular file."""

    name = "file"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        path = Path(value)
        if "\0" in str(value):
            self.fail("not a file name", param, ctx)
        if not path.exists():
            self.fail(f"{str(value)[:80]} does not exist", param, ctx)
        if not path.is_file():
            self.fail(f"{str(value)[:80]} is not a file", param, ctx)
        if not os.access(path, os.R_OK):
            self.fail(f"{str(value)[:80]} is not readable", param, ctx)
        return path


class Text(_Checked):
    """A free-text flag value of at most ``max_len`` printable characters."""

    name = "text"

    def __init__(self, max_len: int = 1000) -> None:
        self.max_len = max_len

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if len(text) > self.max_len:
            self.fail(f"longer than {self.max_len} characters", param, ctx)
        if not text.isprintable():
            self.fail(f"{text[:40]!r} has a non-printable character", param, ctx)
        return text
