"""The one exception type for bad input.

Every validation failure names the offending field (a dotted path such as
``query_types[2].delay_slo_s``) and the reason, so the CLI can print one clear
line and exit with code 2 instead of a traceback.
"""

from __future__ import annotations


class InstanceError(ValueError):
    """Bad input: ``field`` is the dotted path of the offending value, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}" if field else reason)


def require(condition: bool, field: str, reason: str) -> None:
    """Raise :class:`InstanceError` unless ``condition`` holds (never ``assert``: ``-O`` strips it)."""
    if not condition:
        raise InstanceError(field, reason)
