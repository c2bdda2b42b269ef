"""JSON round trip and every bad-input case named in issue 2."""

import json

import pytest

from hetserve.instances import InstanceError, Solution, instance_from_dict, read_instance, write_instance
from hetserve.instances.bundled import bundled_names
from hetserve.instances.generate import generate, paper_base


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
    (lambda d: d["query_types"][1].update(rate_per_s=0), "rate_per_s", "must be > 0"),
    (lambda d: d["query_types"][1].update(rate_per_s=-3.0), "rate_per_s", "must be > 0"),
    (lambda d: d["query_types"][0].update(rate_per_s="fast"), "query_types[0].rate_per_s",
     "expected a number"),
    (lambda d: d["query_types"][0].update(category="video"), "category", "unknown task category"),
    (lambda d: d["query_types"][0].update(delay_slo_s=0), "delay_slo_s", "must be > 0"),
    (lambda d: d["query_types"][0].update(error_slo=1.5), "error_slo", "(0, 1]"),
    (lambda d: d["query_types"][0].update(colour="red"), "query_types[0].colour", "unknown field"),
    (lambda d: d.update(models=["GPT-5"]), "models[0]", "unknown model 'GPT-5'"),
    (lambda d: d.update(gpus=["TPU-v9"]), "gpus[0]", "unknown gpu 'TPU-v9'"),
    (lambda d: d["tiers"].append({"gpu": "B200", "precision": "fp16"}), "tiers[10].gpu",
     "unknown GPU"),
    (lambda d: d["tiers"].append({"gpu": "H100-SXM", "precision": "fp8"}), "tiers[10].precision",
     "unknown precision"),
    (lambda d: d.update(tp_degrees=[3]), "tp_degrees", "TP degree 3 not understood"),
    (lambda d: d.update(budget=-5), "budget", "must be > 0"),
    (lambda d: d.update(horizon_h="a day"), "horizon_h", "expected a number"),
    (lambda d: d.pop("query_types"), "query_types", "missing"),
    (lambda d: d["models"][0].update(layers=-1), "layers", "must be > 0"),
    (lambda d: d["models"][0]["errors"].pop("code"), "errors.code", "missing"),
    (lambda d: d.update(delay_constraint="sometimes"), "delay_constraint", "expected one of"),
    (lambda d: d.update(perf={"warp_speed": 9}), "perf.warp_speed", "unknown constant"),
    (lambda d: d.update(availability={"H100-SXM": -1}), "availability.H100-SXM", "non-negative"),
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
