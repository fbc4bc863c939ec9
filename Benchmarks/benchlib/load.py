"""Closed-loop load: N requests over C threads, each with its own keep-alive connection; latency statistics."""

import threading
import time
from dataclasses import dataclass, field


def percentile(values, fraction: float) -> float:
    """Nearest-rank percentile of a list (nan when empty)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(fraction * len(ordered) + 0.5)) - 1))
    return ordered[rank]


@dataclass
class LoadResult:
    """What a run produced: per-request latency (s), successful payloads, error messages, wall time."""

    requests: int = 0
    seconds: float = 0.0
    latencies: list = field(default_factory=list)
    payloads: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    @property
    def rate(self) -> float:
        return (self.requests - len(self.errors)) / self.seconds if self.seconds else float("nan")

    def summary(self) -> dict:
        """Rate, p50/p99 in ms, error count and the first few error messages."""
        return {"requests": self.requests, "seconds": round(self.seconds, 3), "rate": round(self.rate, 1),
                "p50_ms": round(percentile(self.latencies, 0.50) * 1000, 2),
                "p99_ms": round(percentile(self.latencies, 0.99) * 1000, 2),
                "errors": len(self.errors), "error_samples": self.errors[:3]}


def run_load(total: int, concurrency: int, call) -> LoadResult:
    """Runs `call()` `total` times from `concurrency` threads; `call` returns (ok, payload or error text).

    Each success's payload gets the monotonic send time as `_sent` when it is a dict."""
    result = LoadResult(requests=total)
    lock = threading.Lock()
    remaining = [total]

    def worker():
        while True:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            sent = time.monotonic()
            try:
                ok, payload = call()
            except Exception as error:  # a harness bug must show up as an error, not a hang
                ok, payload = False, f"{type(error).__name__}: {error}"
            elapsed = time.monotonic() - sent
            with lock:
                if ok:
                    result.latencies.append(elapsed)
                    if isinstance(payload, dict):
                        payload["_sent"] = sent
                    result.payloads.append(payload)
                else:
                    result.errors.append(str(payload)[:300])

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - start
    return result
