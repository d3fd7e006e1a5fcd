"""Request metrics in Prometheus' text format (`GET /metrics`), through prometheus_client.

Per endpoint (the route's path template, so IDs in paths never multiply the series): requests
by status code, a latency histogram, and errors (status 5xx, and 4xx apart as client errors);
and which run is served. With several workers, `recdash serve` points PROMETHEUS_MULTIPROC_DIR
at a fresh folder before they start, and every scrape sums all workers' counts
(prometheus_client's multiprocess mode), whichever worker answers it.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST  # noqa: F401 - re-exported for the app

BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """The service's counters, one set per app (tests build several apps in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        self.requests = Counter("recdash_requests", "HTTP requests answered",
                                ["endpoint", "status"], registry=self.registry)
        self.seconds = Histogram("recdash_request_seconds", "Time to answer a request",
                                 ["endpoint"], buckets=BUCKETS, registry=self.registry)
        self.errors = Counter("recdash_errors", "Requests answered with a 5xx status",
                              ["endpoint"], registry=self.registry)
        self.client_errors = Counter("recdash_client_errors",
                                     "Requests refused with a 4xx status", ["endpoint"],
                                     registry=self.registry)
        self.events = Counter("recdash_events", "Live events stored", registry=self.registry)
        self.run = Gauge("recdash_run_info", "The run served (1) and runs served before (0)",
                         ["run", "dataset"], registry=self.registry,
                         multiprocess_mode="liveall")

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, str(status)).inc()
        self.seconds.labels(endpoint).observe(seconds)
        if status >= 500:
            self.errors.labels(endpoint).inc()
        elif status >= 400:
            self.client_errors.labels(endpoint).inc()

    def serving(self, run_id: str, dataset: str, before: tuple[str, str] | None = None) -> None:
        if before is not None and before != (run_id, dataset):
            self.run.labels(*before).set(0)
        self.run.labels(run_id, dataset).set(1)

    def text(self) -> bytes:
        """The exposition: this process's metrics, or every worker's in multiprocess mode."""
        if not self.multiprocess:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
