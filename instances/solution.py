"""A provisioning plan: deployments (with parallelism and replicas) and routing.

Solutions are stored by name so a plan file stays readable and independent of the
order of configurations; :meth:`Solution.to_arrays` and :meth:`Solution.from_arrays`
convert to and from the index form used by the MILP and the heuristics (replicas
``r[c]`` and routed shares ``x[i, c]`` over :attr:`Instance.routes`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hetserve.instances.errors import InstanceError

if TYPE_CHECKING:
    from hetserve.instances.model import Config, Instance

ROUTE_EPS = 1e-9
"""Routed shares below this are dropped when a plan is built from arrays."""


@dataclass(frozen=True)
class Deployment:
    """``replicas`` copies of ``model`` on ``tp·pp`` GPUs of type ``gpu`` at ``precision``."""

    model: str
    gpu: str
    precision: str
    tp: int
    pp: int
    replicas: int

    @property
    def gpus(self) -> int:
        return self.tp * self.pp * self.replicas

    def config(self) -> Config:
        from hetserve.instances.model import Config

        return Config(self.model, self.gpu, self.precision, self.tp, self.pp)


@dataclass(frozen=True)
class Route:
    """Share ``fraction`` of query type ``query_type`` sent to a configuration."""

    query_type: str
    model: str
    gpu: str
    precision: str
    tp: int
    pp: int
    fraction: float

    def config(self) -> Config:
        from hetserve.instances.model import Config

        return Config(self.model, self.gpu, self.precision, self.tp, self.pp)


@dataclass(frozen=True)
class PdDeployment(Deployment):
    """``replicas`` P/D units (docs/pd.md): each ``n_prefill`` prefill replicas on ``tp·pp``
    GPUs of type ``gpu`` and ``n_decode`` decode replicas on ``decode_tp·decode_pp`` GPUs of
    type ``decode_gpu``."""

    decode_gpu: str
    decode_tp: int
    decode_pp: int
    n_prefill: int
    n_decode: int

    @property
    def gpus(self) -> int:
        return self.config().gpus_per_replica * self.replicas

    def config(self) -> Config:
        from hetserve.instances.disagg import PdConfig

        return PdConfig(self.model, self.gpu, self.precision, self.tp, self.pp, self.decode_gpu,
                        self.decode_tp, self.decode_pp, self.n_prefill, self.n_decode)


@dataclass(frozen=True)
class PdRoute(Route):
    """A share routed to a P/D configuration (fields as :class:`PdDeployment`)."""

    decode_gpu: str
    decode_tp: int
    decode_pp: int
    n_prefill: int
    n_decode: int

    def config(self) -> Config:
        from hetserve.instances.disagg import PdConfig

        return PdConfig(self.model, self.gpu, self.precision, self.tp, self.pp, self.decode_gpu,
                        self.decode_tp, self.decode_pp, self.n_prefill, self.n_decode)


@dataclass(frozen=True)
class MixedSoloDeployment(Deployment):
    """``replicas`` replicas run mixed/solo (chunked prefill, docs/pd.md#mixed-solo)."""

    mode: str = "mixed-solo"

    def config(self) -> Config:
        from hetserve.instances.mixed_solo import MixedSoloConfig

        return MixedSoloConfig(self.model, self.gpu, self.precision, self.tp, self.pp)


@dataclass(frozen=True)
class MixedSoloRoute(Route):
    """A share routed to a mixed/solo configuration."""

    mode: str = "mixed-solo"

    def config(self) -> Config:
        from hetserve.instances.mixed_solo import MixedSoloConfig

        return MixedSoloConfig(self.model, self.gpu, self.precision, self.tp, self.pp)


def _plan_types(cfg: Config) -> tuple[type[Deployment], type[Route]]:
    from hetserve.instances.mixed_solo import MixedSoloConfig

    if isinstance(cfg, MixedSoloConfig):
        return MixedSoloDeployment, MixedSoloRoute
    return (PdDeployment, PdRoute) if _pd_values(cfg) else (Deployment, Route)


def _why_missing(instance: Instance, entry: Deployment | Route) -> str:
    if isinstance(entry, (PdDeployment, PdRoute)):
        if "disaggregated" not in instance.deployment_modes:
            return "a P/D unit, but the instance's deployment_modes exclude 'disaggregated'"
        return "unknown name, weights do not fit, or TP/PP or ratio not offered: docs/pd.md"
    if isinstance(entry, (MixedSoloDeployment, MixedSoloRoute)):
        if "mixed-solo" not in instance.deployment_modes:
            return "a mixed/solo replica, but the instance's deployment_modes exclude 'mixed-solo'"
        return "unknown name, or weights do not fit"
    if "aggregated" not in instance.deployment_modes:
        return "an aggregated deployment, but the instance's deployment_modes exclude 'aggregated'"
    return "unknown name, or weights do not fit"


_PD_FIELDS = ("decode_gpu", "decode_tp", "decode_pp", "n_prefill", "n_decode")


def _pd_values(cfg: Config) -> tuple[Any, ...]:
    """The P/D fields of a configuration, or ``()`` for an aggregated one."""
    return tuple(getattr(cfg, f) for f in _PD_FIELDS) if hasattr(cfg, "decode_gpu") else ()


@dataclass(frozen=True)
class Solution:
    """A plan. Unserved demand is what the routes leave: ``1 − Σ fraction`` per query type."""

    deployments: tuple[Deployment, ...]
    routing: tuple[Route, ...]

    @classmethod
    def empty(cls) -> Solution:
        return cls((), ())

    # ------------------------------------------------------------ index form
    @classmethod
    def from_arrays(cls, instance: Instance, replicas: np.ndarray, shares: np.ndarray) -> Solution:
        """Plan from replicas ``r[c]`` (rounded to integers) and shares ``x[i, c]``."""
        table = instance.routes
        r = np.rint(np.asarray(replicas, dtype=float)).astype(np.int64)
        x = np.asarray(shares, dtype=float)
        deployments = tuple(
            _plan_types(cfg)[0](
                cfg.model, cfg.gpu, cfg.precision, cfg.tp, cfg.pp, int(r[c]), *_pd_values(cfg))
            for c, cfg in enumerate(table.configs) if r[c] > 0)
        routes: list[Route] = []
        for i, c in zip(*np.nonzero(x > ROUTE_EPS)):
            cfg = table.configs[c]
            routes.append(_plan_types(cfg)[1](
                instance.query_types[i].name, cfg.model, cfg.gpu, cfg.precision, cfg.tp, cfg.pp,
                float(x[i, c]), *_pd_values(cfg)))
        return cls(deployments, tuple(routes))

    def to_arrays(self, instance: Instance) -> tuple[np.ndarray, np.ndarray]:
        """``(r, x)`` over the instance's configurations.

        Raises :class:`InstanceError` for a configuration the instance does not have
        (unknown names, or weights that do not fit in ``tp·pp`` GPUs).
        """
        table = instance.routes
        r = np.zeros(len(table), dtype=np.int64)
        x = np.zeros((len(instance.query_types), len(table)))
        for k, d in enumerate(self.deployments):
            cfg = d.config()
            if cfg not in table.index:
                raise InstanceError(f"deployments[{k}]", f"configuration {cfg.label()} is not in "
                                    f"the instance ({_why_missing(instance, d)})")
            r[table.index[cfg]] += d.replicas
        for k, rt in enumerate(self.routing):
            cfg = rt.config()
            if cfg not in table.index:
                raise InstanceError(f"routing[{k}]", f"configuration {cfg.label()} is not in the "
                                    f"instance ({_why_missing(instance, rt)})")
            if rt.query_type not in instance.query_index:
                raise InstanceError(f"routing[{k}].query_type",
                                    f"unknown query type {rt.query_type!r}")
            x[instance.query_index[rt.query_type], table.index[cfg]] += rt.fraction
        return r, x

    # ------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "hetserve-solution/1",
            "deployments": [asdict(d) for d in self.deployments],
            "routing": [asdict(r) for r in self.routing],
        }

    @classmethod
    def from_dict(cls, d: Any) -> Solution:
        """Read a plan strictly (:mod:`instances.fields`): names are names, ``tp``/``pp``
        TP/PP degrees, ``replicas`` an integer in [0, 10^6], ``fraction`` in [0, 1]."""
        from hetserve.instances import fields

        if not isinstance(d, dict):
            raise InstanceError("", "a solution file must hold a JSON object")
        if "solution" in d and isinstance(d["solution"], dict):
            d = d["solution"]  # accept the `hetserve solve --json` output as a plan file
        fields.get(d, "format", "", fields.choice, ("hetserve-solution/1",), default=None)
        readers: dict[str, Any] = {
            "query_type": fields.name, "model": fields.name, "gpu": fields.name,
            "precision": fields.name,
            "tp": lambda v, w: fields.integer(v, w, lo=1, hi=16),
            "pp": lambda v, w: fields.integer(v, w, lo=1, hi=8),
            "replicas": lambda v, w: fields.integer(v, w, lo=0, hi=10**6),
            "fraction": lambda v, w: fields.number(v, w, lo=0, hi=1),
            "decode_gpu": fields.name,
            "decode_tp": lambda v, w: fields.integer(v, w, lo=1, hi=16),
            "decode_pp": lambda v, w: fields.integer(v, w, lo=1, hi=8),
            "n_prefill": lambda v, w: fields.integer(v, w, lo=1, hi=16),
            "n_decode": lambda v, w: fields.integer(v, w, lo=1, hi=16),
            "mode": lambda v, w: fields.choice(v, w, ("mixed-solo",)),
        }
        deployments: list[Any] = []
        routes: list[Any] = []
        for key, base, pd, ms, out in (
                ("deployments", Deployment, PdDeployment, MixedSoloDeployment, deployments),
                ("routing", Route, PdRoute, MixedSoloRoute, routes)):
            items = d.get(key)
            if not isinstance(items, list):
                raise InstanceError(key, "missing or not a list")
            if len(items) > 1_000_000:
                raise InstanceError(key, "more than 1,000,000 entries")
            for k, item in enumerate(items):
                where = f"{key}[{k}]"
                # a P/D entry carries the decode side and the unit (docs/pd.md)
                # ... and a mixed/solo entry its mode (docs/pd.md#mixed-solo)
                cls_ = (pd if isinstance(item, dict) and "decode_gpu" in item
                        else ms if isinstance(item, dict) and "mode" in item else base)
                names = cls_.__dataclass_fields__
                item = fields.obj(item, where, known=names)
                out.append(cls_(**{n: fields.get(item, n, where, readers[n]) for n in names}))
        return cls(tuple(deployments), tuple(routes))
