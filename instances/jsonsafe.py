"""Strict JSON for everything hetserve writes: plain values, non-finite floats as ``null``.

JSON has no ``NaN`` or ``Infinity``; Python's ``json`` writes them unless told not to, and other
tools then fail to read the file. :func:`plain` turns numpy scalars into Python numbers,
dataclasses into dicts and non-finite floats into ``None``; :func:`dumps` writes the result and
refuses anything non-finite that remains (``allow_nan=False``)."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import numpy as np


def plain(value: Any) -> Any:
    """``value`` as plain JSON values (recursively): numpy scalars to Python numbers,
    dataclass instances to dicts, non-finite floats to ``None``."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`plain` ``(value)``: strictly valid JSON; anything else that
    ``json`` cannot write is written as text."""
    kwargs.setdefault("default", str)
    return json.dumps(plain(value), allow_nan=False, **kwargs)
