"""The instance files shipped under ``instances/data/bundled/``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def bundled_dir() -> Path:
    return Path(str(resources.files("hetserve.instances") / "data" / "bundled"))


def bundled_names() -> list[str]:
    """Names of the shipped instances (file stems)."""
    return sorted(p.stem for p in bundled_dir().glob("*.json"))


def bundled_path(name: str) -> Path | None:
    """Path of the shipped instance ``name``, or ``None``."""
    path = bundled_dir() / f"{name}.json"
    return path if path.exists() else None
