"""Strict JSON for everything hetserve writes: non-finite floats become ``null``.

JSON has no ``NaN`` or ``Infinity``; Python's ``json`` writes them unless told not to, and
other tools then fail to read the file. :func:`dumps` maps them to ``null`` and refuses any
that remain (``allow_nan=False``)."""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (recursively) replaced by ``None``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`finite` ``(value)``, strictly valid JSON."""
    kwargs.setdefault("default", str)
    return json.dumps(finite(value), allow_nan=False, **kwargs)
