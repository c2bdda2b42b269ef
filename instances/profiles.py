r"""Measured serving profiles that override the analytic serving model (docs/performance.md).

A profile is a set of measured closed-loop runs, each keyed by a configuration
(model, GPU, weight precision, TP, PP, engine) and a workload point (prompt tokens
``isl``, output tokens ``osl``, clients ``concurrency``) with the measured mean TTFT and
TPOT. For a configuration the profile covers, :class:`MeasuredServing` answers from the
measurements instead of the model:

* at a measured point, the measurement itself;
* between measured points, multilinear interpolation of :math:`\log` TTFT and
  :math:`\log` TPOT in :math:`(\log isl, \log osl, \log C)`, using the 2, 4 or 8
  measured corners of the smallest grid cell around the point (axes with one value
  must match exactly);
* anywhere else (outside the measured range on an axis, or a corner of the cell not
  measured) it refuses: the estimate is ``None`` with a reason naming the axis. It never
  extrapolates and never falls back to the model for a covered configuration.

Configurations the profile does not cover go to the analytic model
(:func:`hetserve.instances.serving.estimate_case`); every answer says which source it used.

Three file layouts are read (:func:`read_profile`):

``hetserve`` CSV
    columns ``model,gpu,precision,tp,pp,engine,isl,osl,concurrency,ttft_ms,tpot_ms``
    (catalog names; ``precision`` a weight format of the serving model).
AIConfigurator silicon CSV
    columns ``model_path,system,backend,gemm_quant_mode,isl,osl,concurrency,tp_size,
    pp_size,silicon_ttft_ms,silicon_tpot_ms`` (Hugging Face ids and system names mapped
    by :data:`HF_MODELS` / :data:`SYSTEMS`; empty ``gemm_quant_mode`` = bf16; comment
    lines starting with ``#`` are skipped).
vLLM ``benchmark_serving`` result JSON
    one run per file (or a JSON list of runs) with ``max_concurrency``, ``completed``,
    ``total_input_tokens``, ``total_output_tokens``, ``mean_ttft_ms``, ``mean_tpot_ms``
    and the configuration in metadata keys (``benchmark_serving --metadata``): ``model``
    (catalog name; default ``model_id``), ``gpu``, ``precision``, ``tp``, optional ``pp``
    (1) and ``engine`` (``vllm``).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hetserve.instances import fields
from hetserve.instances.errors import InstanceError
from hetserve.instances.serving import (
    ENGINES,
    FORMATS,
    Case,
    CaseEstimate,
    DoesNotFit,
    EngineProfile,
    LoadEstimate,
    estimate_case,
)

HF_MODELS = {
    "Qwen/Qwen3-32B": "Qwen3-32B",
    "Qwen/Qwen3-30B-A3B": "Qwen3-30B-A3B",
    "Qwen/Qwen3-235B-A22B": "Qwen3-235B-A22B",
    "meta-llama/Llama-3.1-8B-Instruct": "Llama-3.1-8B-Instruct",
    "meta-llama/Llama-3.1-70B": "Llama-3.1-70B-Instruct",
    "meta-llama/Llama-3.1-70B-Instruct": "Llama-3.1-70B-Instruct",
    "meta-llama/Llama-3.3-70B-Instruct": "Llama-3.3-70B-Instruct",
    "deepseek-ai/DeepSeek-V3": "DeepSeek-V3",
    "deepseek-ai/DeepSeek-R1": "DeepSeek-R1",
    "openai/gpt-oss-120b": "GPT-OSS-120B",
    "openai/gpt-oss-20b": "GPT-OSS-20B",
}
"""Hugging Face ids used by AIConfigurator and benchmark clients -> catalog names."""
SYSTEMS = {"h100_sxm": "H100-SXM", "h200_sxm": "H200", "b200_sxm": "B200", "gb200_sxm": "B200",
           "a100_sxm": "A100-80GB", "l40s": "L40S", "mi300x": "MI300X"}
"""AIConfigurator system names -> catalog GPUs (GB200 counted per B200 GPU)."""
MAX_PROFILE_BYTES = 64 * 2**20

ConfigKey = tuple[str, str, str, int, int, str]


@dataclass(frozen=True)
class MeasuredPoint:
    """One measured run: the configuration, the workload point and the two means (s)."""

    config: ConfigKey
    isl: int
    osl: int
    concurrency: int
    ttft_s: float
    tpot_s: float


def config_of(case: Case) -> ConfigKey:
    return (case.model, case.gpu, case.precision, case.tp, case.pp, case.engine)


def _positive_int(value: Any, where: str) -> int:
    text = str(value).strip() if value is not None else ""
    try:
        number = float(text)
    except ValueError:
        raise InstanceError(where, f"expected a positive integer, got {text!r}") from None
    if not math.isfinite(number) or number < 1 or abs(number - round(number)) > 1e-6 * number:
        raise InstanceError(where, f"expected a positive integer, got {text!r}")
    return round(number)


def _positive_ms(value: Any, where: str) -> float:
    text = str(value).strip() if value is not None else ""
    try:
        number = float(text)
    except ValueError:
        raise InstanceError(where, f"expected a positive number of ms, got {text!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise InstanceError(where, f"expected a positive number of ms, got {text!r}")
    return number / 1e3


def _known(value: Any, where: str, options: Iterable[str], what: str) -> str:
    text = str(value).strip() if value is not None else ""
    options = list(options)
    if text not in options:
        raise InstanceError(where, f"unknown {what} {text!r}; known: {', '.join(sorted(options))}")
    return text


def _catalog() -> Any:
    from hetserve.instances.catalog import load_catalog

    return load_catalog("latest")


def _point(where: str, *, model: Any, gpu: Any, precision: Any, tp: Any, pp: Any, engine: Any,
           isl: Any, osl: Any, concurrency: Any, ttft_ms: Any, tpot_ms: Any) -> MeasuredPoint:
    cat = _catalog()
    config = (_known(model, f"{where} model", cat.models, "model"),
              _known(gpu, f"{where} gpu", cat.gpus, "GPU"),
              _known(precision, f"{where} precision", FORMATS, "precision"),
              _positive_int(tp, f"{where} tp"), _positive_int(pp, f"{where} pp"),
              _known(engine, f"{where} engine", ENGINES, "engine"))
    return MeasuredPoint(config, _positive_int(isl, f"{where} isl"), _positive_int(osl, f"{where} osl"),
                         _positive_int(concurrency, f"{where} concurrency"),
                         _positive_ms(ttft_ms, f"{where} ttft"), _positive_ms(tpot_ms, f"{where} tpot"))


HETSERVE_COLUMNS = ("model", "gpu", "precision", "tp", "pp", "engine", "isl", "osl",
                    "concurrency", "ttft_ms", "tpot_ms")
AIC_COLUMNS = ("model_path", "system", "backend", "gemm_quant_mode", "isl", "osl", "concurrency",
               "tp_size", "pp_size", "silicon_ttft_ms", "silicon_tpot_ms")


def _read_csv(text: str, where: str) -> list[MeasuredPoint]:
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    header = set(reader.fieldnames or [])
    points = []
    if set(HETSERVE_COLUMNS) <= header:
        for k, r in enumerate(reader, start=1):
            points.append(_point(f"{where} row {k}", model=r["model"], gpu=r["gpu"],
                                 precision=r["precision"], tp=r["tp"], pp=r["pp"], engine=r["engine"],
                                 isl=r["isl"], osl=r["osl"], concurrency=r["concurrency"],
                                 ttft_ms=r["ttft_ms"], tpot_ms=r["tpot_ms"]))
    elif set(AIC_COLUMNS) <= header:
        for k, r in enumerate(reader, start=1):
            row = f"{where} row {k}"
            model = HF_MODELS.get(r["model_path"], r["model_path"])
            gpu = SYSTEMS.get(r["system"], r["system"])
            points.append(_point(row, model=model, gpu=gpu, precision=r["gemm_quant_mode"] or "bf16",
                                 tp=r["tp_size"], pp=r["pp_size"], engine=r["backend"],
                                 isl=r["isl"], osl=r["osl"], concurrency=r["concurrency"],
                                 ttft_ms=r["silicon_ttft_ms"], tpot_ms=r["silicon_tpot_ms"]))
    else:
        raise InstanceError(where, "not a profile CSV: expected the columns "
                                   f"{','.join(HETSERVE_COLUMNS)} or AIConfigurator's "
                                   f"{','.join(AIC_COLUMNS)}")
    return points


def _read_vllm_json(doc: Any, where: str) -> list[MeasuredPoint]:
    runs = doc if isinstance(doc, list) else [doc]
    points = []
    for k, run in enumerate(runs):
        at = f"{where}[{k}]" if isinstance(doc, list) else where
        run = fields.obj(run, at)
        for key in ("max_concurrency", "completed", "total_input_tokens", "total_output_tokens",
                    "mean_ttft_ms", "mean_tpot_ms", "gpu", "precision", "tp"):
            if key not in run:
                raise InstanceError(f"{at}.{key}", "missing (vLLM benchmark_serving result; "
                                                   "give gpu/precision/tp with --metadata)")
        done = _positive_int(run["completed"], f"{at}.completed")
        model = run.get("model", HF_MODELS.get(str(run.get("model_id", "")), run.get("model_id")))
        points.append(_point(
            at, model=model, gpu=run["gpu"], precision=run["precision"], tp=run["tp"],
            pp=run.get("pp", 1), engine=run.get("engine", "vllm"),
            isl=round(float(run["total_input_tokens"]) / done),
            osl=round(float(run["total_output_tokens"]) / done),
            concurrency=run["max_concurrency"], ttft_ms=run["mean_ttft_ms"],
            tpot_ms=run["mean_tpot_ms"]))
    return points


def read_profile(path: str | Path, analytic: AnalyticServing | None = None, *,
                 what: str = "--profile") -> MeasuredServing:
    """Read a profile file in any of the three layouts (module docstring); configurations
    it does not cover go to ``analytic`` (default: the shipped engine profiles). ``what``
    names the file in errors (the flag, or an instance's ``perf.profile``)."""
    where = f"{what} {Path(path).name}"
    text = fields.read_text(path, max_bytes=MAX_PROFILE_BYTES, what=what)
    if text.lstrip().startswith(("{", "[")):
        points = _read_vllm_json(fields.parse_json(text, where), where)
    else:
        points = _read_csv(text, where)
    if not points:
        raise InstanceError(where, "no measured runs")
    seen: dict[tuple[Any, ...], MeasuredPoint] = {}
    for p in points:
        key = (p.config, p.isl, p.osl, p.concurrency)
        if key in seen:
            raise InstanceError(where, f"two runs for {p.config} at isl {p.isl}, osl {p.osl}, "
                                       f"concurrency {p.concurrency}")
        seen[key] = p
    return MeasuredServing(tuple(points), analytic)


class MeasuredServing:
    """The serving performance of measured configurations, the model elsewhere.

    Both this class and :class:`AnalyticServing` implement ``estimate(case) ->
    CaseEstimate`` (with ``source`` set), so callers take either.
    """

    def __init__(self, points: tuple[MeasuredPoint, ...],
                 analytic: AnalyticServing | None = None) -> None:
        self.points = points
        self.analytic = analytic or AnalyticServing()
        self._by_config: dict[ConfigKey, dict[tuple[int, int, int], MeasuredPoint]] = {}
        for p in points:
            self._by_config.setdefault(p.config, {})[(p.isl, p.osl, p.concurrency)] = p

    def covers(self, case: Case) -> bool:
        return config_of(case) in self._by_config

    def concurrencies(self, case: Case) -> list[int]:
        """The measured concurrencies of the case's configuration (empty if not covered)."""
        return sorted({key[2] for key in self._by_config.get(config_of(case), {})})

    def estimate(self, case: Case) -> CaseEstimate:
        grid = self._by_config.get(config_of(case))
        if grid is None:
            return self.analytic.estimate(case)
        target = (case.isl, case.osl, case.concurrency)
        axes = ("isl", "osl", "concurrency")
        brackets = []
        for axis, (name, value) in enumerate(zip(axes, target)):
            values = sorted({key[axis] for key in grid})
            if value < values[0] or value > values[-1]:
                return _refused(case, f"{name} {value} is outside the measured "
                                      f"{values[0]}–{values[-1]} for this configuration")
            lo = max(v for v in values if v <= value)
            hi = min(v for v in values if v >= value)
            brackets.append((lo, hi))
        log_t = log_p = 0.0
        for corner in itertools.product(*[sorted(set(b)) for b in brackets]):
            point = grid.get((corner[0], corner[1], corner[2]))
            if point is None:
                return _refused(case, f"the measured grid lacks isl {corner[0]}, osl {corner[1]}, "
                                      f"concurrency {corner[2]} around this point")
            weight = 1.0
            for value, (lo, hi), c in zip(target, brackets, corner):
                if lo != hi:
                    share = (math.log(value) - math.log(lo)) / (math.log(hi) - math.log(lo))
                    weight *= share if c == hi else 1.0 - share
            log_t += weight * math.log(point.ttft_s)
            log_p += weight * math.log(point.tpot_s)
        ttft, tpot = math.exp(log_t), math.exp(log_p)
        e2e = ttft + (case.osl - 1) * tpot
        try:
            kv_tokens = self.analytic.kv_capacity(case)
        except DoesNotFit as exc:  # e.g. a TP no engine can shard: no replica to size
            return CaseEstimate(case, None, f"{exc.field}: {exc.reason}", True, source="profile")
        est = LoadEstimate(ttft_s=ttft, tpot_s=tpot, e2e_s=e2e,
                           output_tok_s_per_gpu=case.concurrency * case.osl / e2e / (case.tp * case.pp),
                           kv_capacity_tokens=kv_tokens, peak_running=0, requests=0, preemptions=0)
        return CaseEstimate(case, est, "", True, source="profile")


class AnalyticServing:
    """The analytic serving model behind the same interface as :class:`MeasuredServing`.

    ``engines`` replaces the shipped engine profiles (e.g. with other ``max_num_seqs``:
    :func:`hetserve.instances.serving.engines_with`).
    """

    def __init__(self, engines: dict[str, EngineProfile] | None = None) -> None:
        self.engines = engines or ENGINES

    def estimate(self, case: Case) -> CaseEstimate:
        return estimate_case(case, engines=self.engines)

    def kv_capacity(self, case: Case) -> int:
        from hetserve.instances.serving import Replica

        cat = _catalog()
        return Replica(cat.models[case.model], cat.gpus[case.gpu], case.precision,
                       case.kv_precision, case.tp, case.pp,
                       self.engines[case.engine]).kv_capacity_tokens


def _refused(case: Case, reason: str) -> CaseEstimate:
    return CaseEstimate(case, None, f"profile: {reason} (no extrapolation)", True, source="profile")
