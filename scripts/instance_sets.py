"""Named instance sets for ``hetserve bench`` and ``hetserve stress`` (declarative).

A set is a list of :class:`InstanceSpec` (a name and how to build it), so a sweep can
ship the spec to a worker and build the instance there, deterministically.
"""

from __future__ import annotations

from dataclasses import dataclass

from hetserve.instances import Instance
from hetserve.instances.generate import generate, paper_base


@dataclass(frozen=True)
class InstanceSpec:
    """``generate(size, seed, scenario)``, or the paper-base instance when ``size`` is None."""

    name: str
    size: tuple[int, int, int] | None
    seed: int
    scenario: str = "base"

    def build(self) -> Instance:
        if self.size is None:
            return paper_base(self.seed, self.scenario)
        return generate(self.size, self.seed, self.scenario, name=self.name)

    @property
    def size_label(self) -> str:
        return "paper-base" if self.size is None else "x".join(map(str, self.size))


def _grid(sizes: list[tuple[int, int, int]], seeds: range, scenarios: tuple[str, ...]
          ) -> list[InstanceSpec]:
    return [InstanceSpec(f"{'x'.join(map(str, s))}-s{seed}-{sc}", s, seed, sc)
            for s in sizes for sc in scenarios for seed in seeds]


PAPER_SIZES = [(6, 6, 10), (8, 8, 12), (10, 10, 10), (12, 12, 15), (15, 15, 15), (20, 20, 20)]

INSTANCE_SETS: dict[str, list[InstanceSpec]] = {
    "tiny": [InstanceSpec("paper-base", None, 0), *_grid([(3, 3, 4)], range(2), ("base",))],
    "paper": [InstanceSpec(f"paper-base-{sc}", None, 0, sc)
              for sc in ("base", "tight-budget", "high-penalty")]
    + _grid(PAPER_SIZES, range(5), ("base",))
    + _grid([(10, 10, 10)], range(5), ("tight-budget", "high-penalty")),
    "large": _grid([(50, 30, 30), (100, 40, 40)], range(3), ("base",)),
}


def instance_set(name: str) -> list[InstanceSpec]:
    if name not in INSTANCE_SETS:
        raise ValueError(f"instance set {name!r} not understood; expected one of "
                         f"{sorted(INSTANCE_SETS)}")
    return INSTANCE_SETS[name]
