"""Strict readers for the fields of input files (instances, catalog rows, plans, CSVs).

Every reader takes the raw value and ``where`` (the dotted path of the field, e.g.
``query_types[2].rate_per_s``) and returns a typed value or raises
:class:`~instances.errors.InstanceError` naming the field and the reason. The rules, the
same for every file hetserve reads:

* numbers are JSON numbers (never ``true``/``false`` or a string such as ``"5"``), finite,
  and inside the field's documented range (``docs/instance-format.md``); integers are
  integers (``8``, not ``8.0``);
* booleans are ``true`` or ``false`` (the string ``"false"`` is not false);
* names are non-empty printable strings of at most :data:`MAX_NAME` characters without
  surrounding spaces; free text has no control characters and at most
  :data:`MAX_TEXT` characters;
* enumerations take one of their listed values;
* files are UTF-8 (a leading byte-order mark is accepted), at most a stated size, and JSON
  is strict: no ``NaN``/``Infinity`` tokens, no number outside the float range, no integer
  of more than :data:`MAX_INT_DIGITS` digits, no nesting deeper than :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Iterable, Mapping
from difflib import get_close_matches
from pathlib import Path
from typing import Any, TypeVar

from hetserve.instances.errors import InstanceError

MAX_NAME = 200
"""Longest name (query type, model, GPU, precision, instance) in characters."""
MAX_TEXT = 10_000
"""Longest free-text field (description, sources) in characters."""
MAX_INT_DIGITS = 30
"""Longest integer literal accepted in JSON (no field needs more than 10^30)."""
MAX_DEPTH = 64
"""Deepest nesting of JSON arrays/objects (an instance file needs 4)."""
MAX_JSON_BYTES = 64 * 2**20
"""Largest JSON input file (a 100x40x40 instance is about 0.2 MB)."""

T = TypeVar("T")
_REQUIRED: Any = object()


class _StrictJsonError(ValueError):
    """Raised from inside ``json.loads`` hooks; turned into an InstanceError by the caller."""


def _fmt(x: float) -> str:
    if x == int(x) and abs(x) < 1e16:
        return str(int(x))
    return f"{x:g}"


def _range_text(lo: float, hi: float, lo_open: bool, hi_open: bool) -> str:
    if math.isinf(hi):
        return f"{'>' if lo_open else '>='} {_fmt(lo)}"
    return f"in {'(' if lo_open else '['}{_fmt(lo)}, {_fmt(hi)}{')' if hi_open else ']'}"


def _show(value: Any) -> str:
    """A short repr for error messages (a 100k-character string stays one short line)."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}... ({len(text)} characters)"


# ---------------------------------------------------------------------------- scalars


def number(value: Any, where: str, *, lo: float = -math.inf, hi: float = math.inf,
           lo_open: bool = False, hi_open: bool = False) -> float:
    """A finite JSON number in ``[lo, hi]`` (ends open as asked), as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InstanceError(where, f"expected a number, got {_show(value)}")
    try:
        x = float(value)
    except OverflowError:
        raise InstanceError(where, f"number out of range, got an integer of {len(str(value))} "
                            "digits") from None
    if not math.isfinite(x):
        raise InstanceError(where, f"expected a finite number, got {_show(value)}")
    below = x <= lo if lo_open else x < lo
    above = x >= hi if hi_open else x > hi
    if below or above:
        raise InstanceError(where, f"must be {_range_text(lo, hi, lo_open, hi_open)}, got {_fmt(x)}")
    return x


def integer(value: Any, where: str, *, lo: int = 0, hi: int = 10**9) -> int:
    """A JSON integer (not ``true``, not ``8.0``) in ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InstanceError(where, f"expected an integer, got {_show(value)}")
    if not lo <= value <= hi:
        raise InstanceError(where, f"must be an integer in [{lo}, {hi}], got "
                            f"{value if abs(value) < 10**30 else _show(value)}")
    return value


def boolean(value: Any, where: str) -> bool:
    """``true`` or ``false`` (nothing else: ``"false"`` and ``0`` are refused)."""
    if not isinstance(value, bool):
        raise InstanceError(where, f"expected true or false, got {_show(value)}")
    return value


def name(value: Any, where: str) -> str:
    """A non-empty printable name without surrounding spaces, at most :data:`MAX_NAME` long."""
    if not isinstance(value, str):
        raise InstanceError(where, f"expected a name (a string), got {_show(value)}")
    if not value:
        raise InstanceError(where, "expected a non-empty name")
    if len(value) > MAX_NAME:
        raise InstanceError(where, f"name longer than {MAX_NAME} characters ({len(value)})")
    if not value.isprintable():
        raise InstanceError(where, f"name has a non-printable character: {_show(value)}")
    if value != value.strip():
        raise InstanceError(where, f"name has leading or trailing spaces: {_show(value)}")
    return value


def text(value: Any, where: str, *, max_len: int = MAX_TEXT) -> str:
    """Free text: a string without control characters (newlines and tabs allowed)."""
    if not isinstance(value, str):
        raise InstanceError(where, f"expected a string, got {_show(value)}")
    if len(value) > max_len:
        raise InstanceError(where, f"longer than {max_len} characters ({len(value)})")
    if not value.replace("\n", "").replace("\t", "").isprintable():
        raise InstanceError(where, f"has a control or non-printable character: {_show(value)}")
    return value


def did_you_mean(value: str, options: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for the option(s) ``value`` most likely meant, else ``""``.

    A case-insensitive match wins (``gpt-oss-120b`` -> ``GPT-OSS-120B``), then the options it
    starts (``H100`` -> ``H100-PCIe`` or ``H100-SXM``), then the closest spelling by
    :func:`difflib.get_close_matches`. Only a hint for an error message: names are never
    matched loosely.
    """
    options = sorted(options)
    low = value.lower()
    hits = ([o for o in options if o.lower() == low]
            or [o for o in options if o.lower().startswith(low)][:3])
    if not hits:
        close = get_close_matches(low, [o.lower() for o in options], n=1)
        hits = [o for o in options if close and o.lower() == close[0]][:1]
    if not hits:
        return ""
    return f" (did you mean {' or '.join(repr(h) for h in hits)}?)"


def choice(value: Any, where: str, options: Iterable[str]) -> str:
    """One of ``options`` (a string)."""
    options = list(options)
    if not isinstance(value, str) or value not in options:
        raise InstanceError(where, f"expected one of {', '.join(options)}; got {_show(value)}")
    return value


def obj(value: Any, where: str, *, known: Collection[str] | None = None) -> dict[str, Any]:
    """A JSON object; with ``known``, every key must be one of them."""
    if not isinstance(value, dict):
        raise InstanceError(where, f"expected an object, got {_kind(value)}")
    if known is not None:
        for key in value:
            if key not in known:
                raise InstanceError(_join(where, key), f"unknown field; known: {', '.join(sorted(known))}")
    return value


def array(value: Any, where: str, *, min_len: int = 0, max_len: int = 100_000) -> list[Any]:
    """A JSON array of ``min_len`` to ``max_len`` items."""
    if not isinstance(value, list):
        raise InstanceError(where, f"expected a list, got {_kind(value)}")
    if not min_len <= len(value) <= max_len:
        raise InstanceError(where, f"expected {min_len} to {max_len} items, got {len(value)}")
    return value


def degrees(value: Any, where: str, allowed: Collection[int]) -> tuple[int, ...]:
    """A non-empty list of distinct integers, each one of ``allowed`` (TP/PP degrees)."""
    items = array(value, where, min_len=1, max_len=len(allowed))
    out = []
    for k, v in enumerate(items):
        if isinstance(v, bool) or not isinstance(v, int) or v not in allowed:
            raise InstanceError(f"{where}[{k}]", f"expected one of {sorted(allowed)}, got {_show(v)}")
        if v in out:
            raise InstanceError(f"{where}[{k}]", f"duplicate degree {v}")
        out.append(v)
    return tuple(out)


def get(d: Mapping[str, Any], key: str, where: str, read: Callable[..., T],
        *args: Any, default: Any = _REQUIRED, **kwargs: Any) -> T:
    """``read(d[key], where.key, ...)``; a missing key gives ``default`` (or an error)."""
    if key not in d:
        if default is _REQUIRED:
            raise InstanceError(_join(where, key), "missing")
        return default
    return read(d[key], _join(where, key), *args, **kwargs)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            type(None): "null"}.get(type(value), "a number")


# ---------------------------------------------------------------------------- files


def read_text(path: str | Path, *, max_bytes: int, what: str | None = None) -> str:
    """A UTF-8 text file (a leading byte-order mark is dropped) of at most ``max_bytes``."""
    path = Path(path)
    where = what or str(path)
    try:
        if path.is_dir():
            raise InstanceError(where, "is a directory, not a file")
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InstanceError(where, f"cannot read file ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise InstanceError(where, f"file larger than {max_bytes / 2**20:g} MiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InstanceError(where, f"not UTF-8 text (byte {exc.start})") from None


def _reject_constant(token: str) -> Any:
    raise _StrictJsonError(f"{token} is not a number in JSON")


def _strict_float(token: str) -> float:
    x = float(token)
    if not math.isfinite(x):
        raise _StrictJsonError(f"number {token[:40]} is out of range")
    return x


def _strict_int(token: str) -> int:
    digits = len(token.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _StrictJsonError(f"integer of {digits} digits is out of range")
    return int(token)


def _depth(doc: Any) -> int:
    depth, level = 0, [doc]
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            return depth
        nxt: list[Any] = []
        for v in level:
            if isinstance(v, dict):
                nxt.extend(v.values())
            elif isinstance(v, list):
                nxt.extend(v)
        level = nxt
    return depth - 1


def parse_json(text_: str, where: str) -> Any:
    """Parse strict JSON (see the module docstring); errors name ``where`` and the place."""
    try:
        doc = json.loads(text_, parse_constant=_reject_constant, parse_float=_strict_float,
                         parse_int=_strict_int)
    except json.JSONDecodeError as exc:
        raise InstanceError(where, f"malformed JSON at line {exc.lineno} column {exc.colno}: "
                            f"{exc.msg}") from None
    except _StrictJsonError as exc:
        raise InstanceError(where, f"malformed JSON: {exc}") from None
    except RecursionError:
        raise InstanceError(where, f"malformed JSON: nested deeper than {MAX_DEPTH} levels") from None
    if _depth(doc) > MAX_DEPTH:
        raise InstanceError(where, f"malformed JSON: nested deeper than {MAX_DEPTH} levels")
    return doc


def read_json(path: str | Path, *, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Read and parse a strict JSON file (UTF-8, at most ``max_bytes``)."""
    return parse_json(read_text(path, max_bytes=max_bytes), str(path))
