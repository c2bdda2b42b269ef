"""Discrete-event simulation of disaggregated prefill/decode units (checks docs/pd.md).

A tandem of three stations, fed by request arrival times (one query shape):

1. **prefill**: ``prefill_servers`` FCFS servers (a prefill replica with *m* pipeline
   stages counts as *m* servers), each prompt takes ``t_pre`` seconds;
2. **KV transfer**: ``kv_servers`` FCFS lanes, each transfer takes ``t_kv`` seconds;
3. **decode**: ``decode_replicas`` replicas running continuous batching with at most
   ``max_batch`` sequences: an iteration with *b* resident sequences lasts
   ``step_s[b]`` seconds and gives each of them one token; a request needs
   ``output_tokens`` iterations. Arrivals wait in one FIFO queue and join the replica
   with the fewest sequences (lowest index on ties) at its next iteration boundary (at
   once if it is idle).

The planner's fluid numbers (:mod:`instances.disagg`) say a unit sustains
``min(n_P m_P / t_pre, n_D b* / (f t_dec(b*)), KV lanes / t_kv)`` requests/s at latency
``t_pre + t_kv + f t_dec(b*)``; this simulation measures what arrivals actually get,
including the queueing the fluid model leaves out. It imports no planner: the caller
passes the numbers. Deterministic for given arrivals.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass

import numpy as np

__all__ = ["PdSimResult", "simulate_pd"]


@dataclass(frozen=True)
class PdSimResult:
    """Per-request completion times and the summary over the measured requests."""

    arrival_s: np.ndarray
    finish_s: np.ndarray
    warmup: float

    @property
    def measured(self) -> np.ndarray:
        n = len(self.arrival_s)
        return np.arange(n) >= int(self.warmup * n)

    @property
    def mean_latency_s(self) -> float:
        sel = self.measured
        return float((self.finish_s[sel] - self.arrival_s[sel]).mean())

    @property
    def throughput_rps(self) -> float:
        """Completions per second in the steady window: between the finish times of the
        first measured request and of the request at the 80 % mark (no drain at the end)."""
        fin = np.sort(self.finish_s[np.isfinite(self.finish_s)])
        a, b = int(self.warmup * len(fin)), int(0.8 * len(fin))
        span = float(fin[b] - fin[a]) if b > a else 0.0
        return (b - a) / span if span > 0 else 0.0


def _fcfs(ready: np.ndarray, servers: int, service_s: float) -> np.ndarray:
    """Finish times of FCFS service of equal length on ``servers`` servers (ready order)."""
    free = [0.0] * servers
    out = np.empty(len(ready))
    for k in np.argsort(ready, kind="stable"):
        start = max(float(ready[k]), heapq.heappop(free))
        out[k] = start + service_s
        heapq.heappush(free, out[k])
    return out


def simulate_pd(arrival_s: np.ndarray, *, prefill_servers: int, t_pre: float, kv_servers: int,
                t_kv: float, decode_replicas: int, max_batch: int, step_s: np.ndarray,
                output_tokens: int, warmup: float = 0.2) -> PdSimResult:
    """Simulate the tandem of the module docstring; ``step_s[b]`` for b in 1..max_batch."""
    if prefill_servers < 1 or kv_servers < 1 or decode_replicas < 1 or max_batch < 1:
        raise ValueError("prefill_servers: every station needs at least one server")
    if len(step_s) <= max_batch:
        raise ValueError("step_s: needs an entry for every batch 1..max_batch")
    arrival_s = np.asarray(arrival_s, dtype=float)
    ready = _fcfs(_fcfs(arrival_s, prefill_servers, t_pre), kv_servers, t_kv)
    order = np.argsort(ready, kind="stable")
    finish = np.full(len(arrival_s), np.nan)
    queue: deque[int] = deque()
    resident: list[dict[int, int]] = [{} for _ in range(decode_replicas)]  # request -> tokens left
    joining: list[list[int]] = [[] for _ in range(decode_replicas)]
    ends = [np.inf] * decode_replicas  # end of the running iteration (inf: idle)
    nxt = 0
    while nxt < len(order) or queue or any(np.isfinite(ends)):
        t_arr = float(ready[order[nxt]]) if nxt < len(order) else np.inf
        d = int(np.argmin(ends))
        if not np.isfinite(t_arr) and not np.isfinite(ends[d]):
            break  # cannot happen: a non-empty queue means every replica is busy
        if t_arr <= ends[d]:  # a request reaches the decode stage
            queue.append(int(order[nxt]))
            nxt += 1
            now = t_arr
        else:  # replica d ends an iteration: one token each, then admit and go on
            now = ends[d]
            for k in list(resident[d]):
                resident[d][k] -= 1
                if resident[d][k] == 0:
                    finish[k] = now
                    del resident[d][k]
            for k in joining[d]:
                resident[d][k] = output_tokens
            joining[d] = []
            ends[d] = np.inf
        # admit queued requests to the least-loaded replicas with room
        while queue:
            load = [len(resident[r]) + len(joining[r]) for r in range(decode_replicas)]
            r = int(np.argmin(load))
            if load[r] >= max_batch:
                break
            joining[r].append(queue.popleft())
        for r in range(decode_replicas):
            if not np.isfinite(ends[r]) and (resident[r] or joining[r]):
                for k in joining[r]:  # an idle replica starts at once
                    resident[r][k] = output_tokens
                joining[r] = []
                ends[r] = now + float(step_s[len(resident[r])])
    return PdSimResult(arrival_s, finish, warmup)
