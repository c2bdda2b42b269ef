"""JSON round trip and every bad-input case named in issue 2."""

import json

import pytest

from hetserve.instances import InstanceError, Solution, instance_from_dict, read_instance, write_instance
from hetserve.instances.bundled import bundled_names
from hetserve.instances.generate import generate, paper_base
from hetserve.instances.io import read_json


def test_round_trip_is_exact(tmp_path):
    inst = generate((4, 4, 5), 3, "high-penalty")
    write_instance(inst, tmp_path / "x.json")
    back = read_instance(tmp_path / "x.json")
    assert back.to_dict() == inst.to_dict()
    assert back == inst


def test_every_bundled_instance_reads():
    names = bundled_names()
    assert {"tiny", "paper-base", "paper-tight-budget", "paper-high-penalty"} <= set(names)
    for name in names:
        assert read_instance(name).name == name


def test_catalog_names_are_accepted_in_place_of_specs():
    doc = paper_base().to_dict()
    doc["models"] = [m["name"] for m in doc["models"]]
    doc["gpus"] = [g["name"] for g in doc["gpus"]]
    doc["tiers"] = [f"{t['gpu']}/{t['precision']}" for t in doc["tiers"]]
    assert instance_from_dict(doc) == paper_base()


def _doc():
    return paper_base().to_dict()


@pytest.mark.parametrize(("mutate", "field", "reason"), [
    (lambda d: d["query_types"][0].pop("rate_per_s"), "query_types[0].rate_per_s", "missing"),
    (lambda d: d["query_types"][1].update(rate_per_s=0), "rate_per_s", "must be in (0, 10000000]"),
    (lambda d: d["query_types"][1].update(rate_per_s=-3.0), "rate_per_s", "got -3"),
    (lambda d: d["query_types"][0].update(rate_per_s="fast"), "query_types[0].rate_per_s",
     "expected a number"),
    (lambda d: d["query_types"][0].update(rate_per_s="5"), "rate_per_s", "expected a number"),
    (lambda d: d["query_types"][0].update(rate_per_s=True), "rate_per_s", "expected a number"),
    (lambda d: d["query_types"][0].update(rate_per_s=10**400), "rate_per_s", "out of range"),
    (lambda d: d["query_types"][0].update(category="video"), "category", "expected one of"),
    (lambda d: d["query_types"][0].update(delay_slo_s=0), "delay_slo_s", "must be in (0,"),
    (lambda d: d["query_types"][0].update(error_slo=1.5), "error_slo", "(0, 1]"),
    (lambda d: d["query_types"][0].update(colour="red"), "query_types[0].colour", "unknown field"),
    (lambda d: d["query_types"][0].update(name=""), "query_types[0].name", "non-empty"),
    (lambda d: d["query_types"][0].update(name="a\x07b"), "query_types[0].name", "non-printable"),
    (lambda d: d["query_types"][0].update(name="x" * 100_000), "query_types[0].name", "longer"),
    (lambda d: d["query_types"][1].update(name=d["query_types"][0]["name"]), "query_types[1].name",
     "duplicate name"),
    (lambda d: d.update(models=["GPT-5"]), "models[0]", "unknown model 'GPT-5'"),
    (lambda d: d.update(gpus=["TPU-v9"]), "gpus[0]", "unknown gpu 'TPU-v9'"),
    (lambda d: d["gpus"][0].update(price_per_gpu_hour=1e308), "gpus[0].price_per_gpu_hour",
     "must be in (0, 10000]"),
    (lambda d: d["gpus"][0].update(link_gb_s="abc"), "gpus[0].link_gb_s", "expected a number"),
    (lambda d: d["gpus"][0].update(link_gb_s=None), "gpus[0].link_gb_s", "expected a number"),
    (lambda d: d["gpus"][0].update(default_availability=2**63), "default_availability",
     "integer in [0, 1000000]"),
    (lambda d: d["tiers"].append({"gpu": "B200", "precision": "fp16"}), "tiers[10].gpu",
     "unknown GPU"),
    (lambda d: d["tiers"].append({"gpu": "H100-SXM", "precision": "fp8"}), "tiers[10].precision",
     "unknown precision"),
    (lambda d: d.update(tp_degrees=[3]), "tp_degrees[0]", "expected one of [1, 2, 4, 8, 16]"),
    (lambda d: d.update(tp_degrees=[1, 2, 2]), "tp_degrees[2]", "duplicate degree 2"),
    (lambda d: d.update(budget=-5), "budget", "must be in (0,"),
    (lambda d: d.update(horizon_h="a day"), "horizon_h", "expected a number"),
    (lambda d: d.update(format="something/9"), "format", "expected one of hetserve-instance/1"),
    (lambda d: d.update(precisions=None), "precisions", "expected a list"),
    (lambda d: d.pop("query_types"), "query_types", "missing"),
    (lambda d: d["models"][0].update(layers=-1), "layers", "must be an integer in [1,"),
    (lambda d: d["models"][0].update(moe="false"), "models[0].moe", "expected true or false"),
    (lambda d: d["models"][0]["errors"].pop("code"), "errors.code", "missing"),
    (lambda d: d.update(delay_constraint="sometimes"), "delay_constraint", "expected one of"),
    (lambda d: d.update(perf={"warp_speed": 9}), "perf.warp_speed", "unknown field"),
    (lambda d: d.update(perf={"prefill_efficiency_int8": 7}), "perf.prefill_efficiency_int8",
     "must be in (0, 1]"),
    (lambda d: d.update(availability={"H100-SXM": -1}), "availability.H100-SXM", "integer in [0,"),
    (lambda d: d.update(single_placement="false"), "single_placement", "expected true or false"),
])
def test_bad_input_names_field_and_reason(mutate, field, reason):
    doc = _doc()
    mutate(doc)
    with pytest.raises(InstanceError) as info:
        instance_from_dict(doc)
    assert field in info.value.field or field in str(info.value)
    assert reason in str(info.value)


def test_malformed_json_names_the_position(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"name": "x", "query_types": [}')
    with pytest.raises(InstanceError, match="malformed JSON at line 1"):
        read_instance(path)


@pytest.mark.parametrize(("text", "reason"), [
    ('{"name": NaN}', "NaN is not a number"),
    ('{"name": Infinity}', "Infinity is not a number"),
    ('{"name": -Infinity}', "-Infinity is not a number"),
    ('{"name": 1e999}', "out of range"),
    ('{"name": ' + "9" * 5000 + "}", "integer of 5000 digits"),
    ("[" * 100_000 + "]" * 100_000, "nested deeper than 64"),
    ("[" * 100 + "]" * 100, "nested deeper than 64"),
])
def test_strict_json(tmp_path, text, reason):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(InstanceError, match=reason):
        read_instance(path)


def test_non_utf8_directory_and_oversized_files_are_refused(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"name": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(InstanceError, match="not UTF-8"):
        read_instance(path)
    with pytest.raises(InstanceError, match="is a directory"):
        read_instance(tmp_path)
    with pytest.raises(InstanceError, match="larger than"):
        read_json(path, max_bytes=5)


def test_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(_doc()).encode())
    assert read_instance(path) == paper_base()


def test_missing_file(tmp_path):
    with pytest.raises(InstanceError, match="cannot read file"):
        read_instance(tmp_path / "nope.json")


def test_solution_file_errors():
    with pytest.raises(InstanceError, match=r"deployments\[0\]\.replicas"):
        Solution.from_dict({"deployments": [{"model": "m", "gpu": "g", "precision": "fp16",
                                             "tp": 1, "pp": 1, "replicas": -2}], "routing": []})
    with pytest.raises(InstanceError, match=r"routing\[0\]\.fraction"):
        Solution.from_dict({"deployments": [], "routing": [{
            "query_type": "q", "model": "m", "gpu": "g", "precision": "fp16", "tp": 1, "pp": 1,
            "fraction": 1.5}]})
    with pytest.raises(InstanceError, match="routing"):
        Solution.from_dict(json.loads('{"deployments": []}'))


def test_later_catalog_rows_and_fp8_tiers_resolve_by_name():
    """Names resolve against every catalog edition (editions only add rows): an H200 with an
    fp8 tier reads; paper-base's embedded H100 rows, written before the low-precision peaks
    existed, take them from the catalog row they equal, so fp8 runs on the FP8 peak."""
    from hetserve.instances.bundled import bundled_path

    doc = read_json(bundled_path("paper-base"))
    doc["gpus"].append("H200")
    doc["precisions"] = ["fp16", "int8", "int4", "fp8"]
    doc["tiers"].append("H200/fp8")
    inst = instance_from_dict(doc)
    assert inst.gpu_by_name["H200"].fp8_tflops == pytest.approx(1978.9)
    assert {p.name for p in inst.precisions} == {"fp16", "int8", "int4", "fp8"}
    embedded = [g for g in doc["gpus"] if isinstance(g, dict)]
    assert embedded and all("fp8_tflops" not in g for g in embedded)
    assert inst.gpu_by_name["H100-SXM"].fp8_tflops == pytest.approx(1978.9)
    # An inline row that differs from the catalog keeps what it says (no peak: weight-only).
    custom = dict(embedded[0], name="Custom-GPU")
    doc["gpus"].append(custom)
    assert instance_from_dict(doc).gpu_by_name["Custom-GPU"].fp8_tflops is None
