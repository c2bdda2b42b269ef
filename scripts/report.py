"""Human-readable output of a :class:`~instances.result.RunResult` (rich tables).

Every name and message from the input is escaped (:func:`rich.markup.escape`): a query type
called ``[/]`` or ``[red]chat`` is printed as written, never read as markup."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hetserve.instances import Instance, RunResult
from hetserve.instances.solution import PdDeployment, PdRoute


@contextmanager
def working(console: Console, text: str) -> Iterator[None]:
    """A spinner with ``text`` and the elapsed time on ``console`` while the block runs,
    erased when it ends; nothing where ``console`` is not a terminal (a pipe, a log file,
    CI), so redirected output stays exactly what the command prints."""
    if not console.is_terminal:
        yield
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        bar.add_task(escape(text), total=None)
        yield


def _money(v: float) -> str:
    return f"${v:,.2f}"


def print_result(console: Console, instance: Instance, result: RunResult) -> None:
    """Deployments, routing, cost breakdown, status, gap and time."""
    sol, ev = result.solution, result.evaluation
    head = (f"[bold]{escape(instance.name)}[/] ({len(instance.query_types)} query types x "
            f"{len(instance.models)} models x {len(instance.tiers)} tiers, "
            f"{instance.horizon_h:g} h) — method [bold]{escape(result.method)}[/]")
    console.print(head)
    if sol is not None and sol.deployments:
        t = Table(title="Deployments", title_justify="left")
        for col in ("model", "GPU", "precision", "TP", "PP", "replicas", "GPUs"):
            t.add_column(col, justify="right" if col in ("TP", "PP", "replicas", "GPUs") else "left")
        t.add_column(f"$ / {instance.horizon_h:g} h", justify="right")
        for d in sorted(sol.deployments, key=lambda d: (d.model, d.gpu, d.precision)):
            price = instance.gpu_by_name[d.gpu].price_per_gpu_hour * d.gpus * instance.horizon_h
            gpu, tp, pp = d.gpu, str(d.tp), str(d.pp)
            if isinstance(d, PdDeployment):  # replicas are P/D units (docs/pd.md)
                prices = {g.name: g.price_per_gpu_hour for g in instance.gpus}
                price = d.config().hourly_price(prices) * d.replicas * instance.horizon_h
                gpu = f"{d.n_prefill}xP {d.gpu} + {d.n_decode}xD {d.decode_gpu}"
                tp, pp = f"{d.tp}/{d.decode_tp}", f"{d.pp}/{d.decode_pp}"
            if getattr(d, "mode", "") == "mixed-solo":  # chunked prefill (docs/pd.md#mixed-solo)
                gpu = f"{d.gpu} mixed-solo"
            t.add_row(escape(d.model), escape(gpu), escape(d.precision), tp, pp,
                      str(d.replicas), str(d.gpus), _money(price))
        console.print(t)
        r = Table(title="Routing (share of each query type's demand)", title_justify="left")
        for col in ("query type", "model", "GPU/precision", "TP×PP", "share"):
            r.add_column(col, justify="right" if col == "share" else "left")
        for rt in sorted(sol.routing, key=lambda r: (instance.query_index[r.query_type], -r.fraction)):
            where, par = f"{rt.gpu}/{rt.precision}", f"{rt.tp}×{rt.pp}"
            if isinstance(rt, PdRoute):  # a P/D unit (docs/pd.md)
                where = f"P {rt.gpu} + D {rt.decode_gpu}/{rt.precision}"
                par = f"{rt.tp}×{rt.pp} + {rt.decode_tp}×{rt.decode_pp}"
            if getattr(rt, "mode", "") == "mixed-solo":
                where = f"{rt.gpu}/{rt.precision} mixed-solo"
            r.add_row(escape(rt.query_type), escape(rt.model), escape(where), par,
                      f"{rt.fraction:.1%}")
        if ev is not None:
            for name, u in ev.unmet.items():
                if u > 1e-9:
                    r.add_row(escape(name), "[dim]unserved[/]", "", "", f"{u:.1%}")
        console.print(r)
    if ev is not None:
        c = Table(title="Cost over the horizon", title_justify="left", show_header=False)
        c.add_column("term")
        c.add_column("$", justify="right")
        for name, value in (("GPU rental", ev.cost.rental), ("model storage", ev.cost.storage),
                            ("delay penalty", ev.cost.delay_penalty),
                            ("unmet-demand penalty", ev.cost.unmet_penalty)):
            c.add_row(name, _money(value))
        c.add_row("[bold]total[/]", f"[bold]{_money(ev.cost.total)}[/]")
        if instance.budget is not None:
            c.add_row("budget (rental + storage)", f"{_money(ev.cost.rental + ev.cost.storage)} "
                      f"of {_money(instance.budget)}")
        console.print(c)
        if ev.violations:
            console.print("[bold red]Violations:[/]")
            for v in ev.violations:
                console.print(escape(f"  - [{v.kind}] {v.message}"))
        if ev.warnings:
            console.print("[bold yellow]Warnings:[/]")
            for w in ev.warnings:
                console.print(escape(f"  - {w}"))
    gap = result.gap
    bound = "—" if result.bound is None else _money(result.bound)
    gap_text = "—" if result.bound is None else ("∞" if not math.isfinite(gap) else f"{gap:.4%}")
    colour = {"optimal": "green", "feasible": "yellow"}.get(result.status.value, "red")
    console.print(f"status [bold {colour}]{result.status.value}[/]   bound {bound}   "
                  f"gap {gap_text}   time {result.runtime_s:.3f} s")
    for line in result.diagnosis:
        console.print(f"[red]diagnosis:[/] {escape(line)}")
