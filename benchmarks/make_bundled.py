"""Regenerate the instance files shipped under ``instances/data/bundled/`` (deterministic).

Run ``python -m benchmarks.make_bundled`` from the repository root; the files are committed
so that a fresh clone can solve them without running anything first.
"""

from __future__ import annotations

from pathlib import Path

import click

from hetserve.instances import Instance, QueryType, Tier, load_catalog, write_instance
from hetserve.instances.bundled import bundled_dir
from hetserve.instances.generate import generate, paper_base


def tiny() -> Instance:
    """One conversation type (2 req/s, 1,000 in / 200 out, 10 s SLO), Llama-3.1-8B on
    L4 or A10G at fp16, TP 1 or 2, no unmet demand allowed.

    Hand check (numbers from the performance model, see tests/instances/test_bundled.py):
    L4 TP1 is too slow (D(1) ≈ 14 s > 10 s), so the candidates are L4 TP2 (μ ≈ 1.30 req/s,
    $0.88/h per replica), A10G TP1 (μ ≈ 0.61, $1.01/h) and A10G TP2 (μ ≈ 2.25, $2.02/h).
    Serving 2 req/s costs $1.76/h with 2 × L4 TP2, $2.02/h with 1 × A10G TP2, $4.04/h with
    4 × A10G TP1, and every mix is dearer: the optimum rents 2 L4 TP2 replicas (4 GPUs).
    """
    c = load_catalog()
    q = QueryType("chat", "conversation", 2.0, 1000, 200, 10.0, 0.5, max_unmet=0.0,
                  unmet_penalty=0.01, delay_penalty=1e-5)
    return Instance("tiny", (q,), (c.models["Llama-3.1-8B-Instruct"],),
                    (c.gpus["L4"], c.gpus["A10G"]), (Tier("L4", "fp16"), Tier("A10G", "fp16")),
                    tp_degrees=(1, 2), pp_degrees=(1,), description=tiny.__doc__.split("\n")[0])


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write to (default: the package's bundled folder).")
def main(out: Path | None) -> None:
    """Write the bundled instances (deterministic: a rerun reproduces the committed files)."""
    out = bundled_dir() if out is None else out
    out.mkdir(parents=True, exist_ok=True)
    instances = [
        tiny(),
        paper_base(0, "base"),
        paper_base(0, "tight-budget"),
        paper_base(0, "high-penalty"),
        generate((3, 3, 4), 1, "base", name="small-3x3x4"),
        generate((10, 10, 10), 1, "base", name="gen-10x10x10"),
        generate((20, 20, 20), 7, "base", name="gen-20x20x20"),
    ]
    for inst in instances:
        write_instance(inst, out / f"{inst.name}.json")
        click.echo(f"{inst.name}: {inst.size}, {len(inst.routes)} configs")


if __name__ == "__main__":
    main()
