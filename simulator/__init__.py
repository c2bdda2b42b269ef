"""Discrete-event simulator of LLM serving pools (fast slot-level M/G/c and detailed
continuous batching with KV blocks and preemption); see :mod:`simulator.des`."""

from .des import (
    PoolSpec,
    PoolStats,
    Requests,
    SimResult,
    mgc_fcfs,
    poisson_requests,
    route_by_length,
    simulate,
    trace_requests,
)

__all__ = ["PoolSpec", "PoolStats", "Requests", "SimResult", "mgc_fcfs", "poisson_requests",
           "route_by_length", "simulate", "trace_requests"]
