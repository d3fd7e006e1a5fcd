"""A stand-in for `recdash serve` in tests: answers /health and /metrics the way the contract
says (the real server may be loading models for seconds; this one answers at once), and stops
on SIGTERM. Started with `fake_command` in place of `recdash.serve.process.serve_command`."""

from __future__ import annotations

import sys
from pathlib import Path

METRICS = """\
# HELP recdash_requests_total Requests by endpoint and status.
# TYPE recdash_requests_total counter
recdash_requests_total{endpoint="/recommend",status="200"} 90.0
recdash_requests_total{endpoint="/recommend",status="422"} 10.0
recdash_requests_total{endpoint="/search",status="200"} 4.0
# HELP recdash_errors_total Requests that failed, by endpoint.
# TYPE recdash_errors_total counter
recdash_errors_total{endpoint="/recommend"} 10.0
# HELP recdash_request_seconds Request latency.
# TYPE recdash_request_seconds histogram
recdash_request_seconds_bucket{endpoint="/recommend",le="0.005"} 20.0
recdash_request_seconds_bucket{endpoint="/recommend",le="0.01"} 60.0
recdash_request_seconds_bucket{endpoint="/recommend",le="0.025"} 90.0
recdash_request_seconds_bucket{endpoint="/recommend",le="0.05"} 98.0
recdash_request_seconds_bucket{endpoint="/recommend",le="0.1"} 100.0
recdash_request_seconds_bucket{endpoint="/recommend",le="+Inf"} 100.0
recdash_request_seconds_sum{endpoint="/recommend"} 1.1
recdash_request_seconds_count{endpoint="/recommend"} 100.0
recdash_request_seconds_bucket{endpoint="/search",le="0.005"} 0.0
recdash_request_seconds_bucket{endpoint="/search",le="0.01"} 0.0
recdash_request_seconds_bucket{endpoint="/search",le="0.025"} 0.0
recdash_request_seconds_bucket{endpoint="/search",le="0.05"} 1.0
recdash_request_seconds_bucket{endpoint="/search",le="0.1"} 3.0
recdash_request_seconds_bucket{endpoint="/search",le="+Inf"} 4.0
recdash_request_seconds_sum{endpoint="/search"} 0.6
recdash_request_seconds_count{endpoint="/search"} 4.0
# HELP recdash_run_info The run served.
# TYPE recdash_run_info gauge
recdash_run_info{dataset="demo",run="RUN"} 1.0
"""

SERVER = '''
import json, signal, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def arg(name):
    return sys.argv[sys.argv.index(name) + 1]

run, port = arg("--run"), int(arg("--port"))
METRICS = open(arg("--metrics")).read()
started = time.time()

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            body = json.dumps({"status": "ok", "run": run, "dataset": "demo", "model": "itemknn",
                               "items": 3, "uptime_s": time.time() - started}).encode()
        elif self.path == "/metrics" and self.headers.get("X-API-Key", "").startswith("rdk_"):
            body = METRICS.encode()
        else:
            self.send_response(401); self.end_headers(); return
        self.send_response(200); self.end_headers(); self.wfile.write(body)

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
print("fake server on", port, flush=True)
server.serve_forever()
'''


def fake_command(folder: Path, run_id: str, port: int) -> list[str]:
    """The stand-in's command line (its script and metrics written into `folder`)."""
    script, metrics = folder / "fake_server.py", folder / "metrics.txt"
    script.write_text(SERVER, encoding="utf-8")
    metrics.write_text(METRICS, encoding="utf-8")
    return [sys.executable, str(script), "--run", run_id, "--port", str(port),
            "--metrics", str(metrics)]
