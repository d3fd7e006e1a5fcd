"""What the studio reads off a running service's `/metrics` (Prometheus text format): per
endpoint, the requests, errors, request rate between two readings, and latency percentiles.

Percentiles are estimated from the cumulative histogram buckets the way PromQL's
`histogram_quantile` does: find the bucket the quantile's rank falls in and interpolate linearly
inside it (from 0 for the first bucket; the highest finite bound when the rank falls in +Inf).
They are as exact as the buckets are fine, and cover every request since the service started.
"""

from __future__ import annotations

import math


def parse_metrics(text: str, previous: dict | None = None, elapsed_s: float | None = None
                  ) -> dict:
    """The per-endpoint figures of a Prometheus text exposition of recdash's metrics.

    Args:
        text: what /metrics answered.
        previous: an earlier result of this function (for the rate).
        elapsed_s: seconds between that reading and this one.

    Returns:
        {endpoint: {"requests", "errors", "rate" (requests/s, None without a previous reading or
        after a restart), "p50_ms", "p99_ms" (None before the first request)}}, endpoints sorted.
    """
    from prometheus_client.parser import text_string_to_metric_families

    requests: dict[str, float] = {}
    errors: dict[str, float] = {}
    buckets: dict[str, list[tuple[float, float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            endpoint = sample.labels.get("endpoint")
            if endpoint is None:
                continue
            if sample.name == "recdash_requests_total":
                requests[endpoint] = requests.get(endpoint, 0.0) + sample.value
            elif sample.name == "recdash_errors_total":
                errors[endpoint] = errors.get(endpoint, 0.0) + sample.value
            elif sample.name == "recdash_request_seconds_bucket":
                buckets.setdefault(endpoint, []).append((float(sample.labels["le"]),
                                                         sample.value))
    out = {}
    for endpoint in sorted(set(requests) | set(buckets) | set(errors)):
        n = requests.get(endpoint, 0.0)
        rate = None
        if previous is not None and elapsed_s and elapsed_s > 0 and endpoint in previous:
            delta = n - previous[endpoint]["requests"]
            rate = delta / elapsed_s if delta >= 0 else None  # negative: the server restarted
        elif previous is not None and elapsed_s and elapsed_s > 0:
            rate = n / elapsed_s  # a first request since the previous reading
        cumulative = buckets.get(endpoint, [])
        out[endpoint] = {"requests": int(n), "errors": int(errors.get(endpoint, 0.0)),
                         "rate": rate,
                         "p50_ms": _ms(histogram_quantile(0.5, cumulative)),
                         "p99_ms": _ms(histogram_quantile(0.99, cumulative))}
    return out


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else 1000.0 * seconds


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """The q-quantile of a Prometheus histogram, as PromQL estimates it.

    Args:
        q: the quantile (0..1).
        buckets: (upper bound, cumulative count) pairs, +Inf included, in any order.

    Returns:
        Linear interpolation inside the bucket the quantile's rank falls in (from 0 for the
        first bucket); the highest finite bound when it falls in +Inf; None with no observations.
    """
    ordered = sorted(buckets)
    if not ordered or ordered[-1][1] <= 0:
        return None
    rank = q * ordered[-1][1]
    lower, below = 0.0, 0.0
    for upper, count in ordered:
        if count >= rank and count > below:
            if math.isinf(upper):
                return lower  # the highest finite bound: nothing is known above it
            return lower + (upper - lower) * (rank - below) / (count - below)
        lower, below = upper, count
    return lower
