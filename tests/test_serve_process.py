"""The studio's service process: the curl commands it offers, the latency percentiles and request
rates read from a hand-written /metrics text (answers computed by hand), and a start, status and
stop of a stand-in server (tests/serve_helpers.py) in place of `recdash serve`."""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from recdash.errors import RecdashError
from recdash.serve import process
from recdash.serve.keys import KeyCheck, list_keys
from recdash.serve.process import ServerInfo, curl_commands
from recdash.serve.scrape import histogram_quantile, parse_metrics
from recdash.workspace import Workspace
from tests.serve_helpers import METRICS, fake_command


# The curl commands ------------------------------------------------------------------------------
def commands(info: ServerInfo, **kw) -> dict[str, list[str]]:
    """label -> the command split as a shell would (the header's variable left unexpanded)."""
    return {label: shlex.split(cmd.replace("\\\n", " "))
            for label, cmd in curl_commands(info, **kw)}


def test_curl_commands_call_every_endpoint_at_the_servers_address() -> None:
    info = ServerInfo("run-1", host="127.0.0.1", port=8123)
    got = commands(info, user="it's u 42&x", item="p/1", query="wireless mouse")
    urls = {label: next(a for a in args if a.startswith("http")) for label, args in got.items()}
    assert all(u.startswith("http://127.0.0.1:8123/") for u in urls.values())
    paths = {urllib.parse.urlsplit(u).path for u in urls.values()}
    assert paths == {"/recommend", "/search", "/explain", "/items/p%2F1/similar", "/events",
                     "/health", "/metrics", "/admin/reload"}
    recommend = urllib.parse.urlsplit(urls["Recommendations for a shopper"])
    assert urllib.parse.parse_qs(recommend.query) == {"user": ["it's u 42&x"], "k": ["10"]}
    search = urllib.parse.parse_qs(urllib.parse.urlsplit(urls["Search as a shopper"]).query)
    assert search == {"q": ["wireless mouse"], "user": ["it's u 42&x"]}
    # every endpoint but /health sends the key, as a shell variable the reader sets once
    for label, args in got.items():
        sends_key = "X-API-Key: $RECDASH_KEY" in args
        assert sends_key == (label != "Health (no key needed)"), label
    body = json.loads(got["Send events"][got["Send events"].index("-d") + 1])
    assert body == {"events": [{"user": "it's u 42&x", "item": "p/1", "type": "view"}]}
    reload = got["Serve another run"]
    assert json.loads(reload[reload.index("-d") + 1]) == {"run": "run-1"}
    assert reload[reload.index("-X") + 1] == "POST"


def test_a_wildcard_address_is_called_on_this_host_and_a_real_key_can_be_given() -> None:
    info = ServerInfo("r", host="0.0.0.0", port=9000)
    got = commands(info, key_placeholder="rdk_abc")
    assert all(any(a.startswith("http://127.0.0.1:9000/") for a in args) for args in got.values())
    assert "X-API-Key: rdk_abc" in got["Metrics (Prometheus)"]


# The metrics --------------------------------------------------------------------------------
def test_histogram_quantile_interpolates_within_the_bucket() -> None:
    buckets = [(0.005, 20), (0.01, 60), (0.025, 90), (0.05, 98), (0.1, 100),
               (float("inf"), 100)]
    # p50: rank 50 lies in (0.005, 0.01], 30 of its 40: 0.005 + 0.005 * 30/40
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.00875)
    # p99: rank 99 lies in (0.05, 0.1], 1 of its 2: 0.05 + 0.05 / 2
    assert histogram_quantile(0.99, buckets) == pytest.approx(0.075)
    # in the first bucket, from 0: rank 10 of its 20
    assert histogram_quantile(0.1, buckets) == pytest.approx(0.0025)
    # in +Inf: the highest finite bound; no observations: None
    assert histogram_quantile(0.99, [(0.1, 3), (float("inf"), 4)]) == pytest.approx(0.1)
    assert histogram_quantile(0.5, [(0.1, 0), (float("inf"), 0)]) is None


def test_parse_metrics_reads_requests_errors_and_latency_per_endpoint() -> None:
    got = parse_metrics(METRICS)
    assert list(got) == ["/recommend", "/search"]
    rec, search = got["/recommend"], got["/search"]
    assert (rec["requests"], rec["errors"], rec["rate"]) == (100, 10, None)  # 200s and 422s
    assert rec["p50_ms"] == pytest.approx(8.75) and rec["p99_ms"] == pytest.approx(75.0)
    assert (search["requests"], search["errors"]) == (4, 0)
    # p50: rank 2 in (0.05, 0.1], 1 of its 2; p99: rank 3.96 in +Inf, so 0.1
    assert search["p50_ms"] == pytest.approx(75.0) and search["p99_ms"] == pytest.approx(100.0)


def test_the_rate_is_measured_between_two_readings() -> None:
    previous = {"/recommend": {"requests": 80}}
    got = parse_metrics(METRICS, previous, elapsed_s=4.0)
    assert got["/recommend"]["rate"] == pytest.approx(5.0)  # (100 - 80) / 4
    assert got["/search"]["rate"] == pytest.approx(1.0)  # new since then: 4 / 4
    restarted = parse_metrics(METRICS, {"/recommend": {"requests": 500}}, elapsed_s=4.0)
    assert restarted["/recommend"]["rate"] is None  # the counter went back: no rate


# Start, status, stop ----------------------------------------------------------------------
@pytest.fixture
def ws_with_run(tmp_path: Path) -> tuple[Workspace, str]:
    ws = Workspace(tmp_path / "ws")
    run_id = ws.create_run("demo", "itemknn", {}, {})
    ws.finish_run(run_id, {})
    return ws, run_id


def wait_for(ws: Workspace, state: str, timeout_s: float = 30.0) -> ServerInfo:
    deadline = time.monotonic() + timeout_s
    while (info := process.server_status(ws)) is None or info.state != state:
        assert time.monotonic() < deadline, f"not {state}: {info}"
        time.sleep(0.1)
    return info


def test_start_status_metrics_and_stop(ws_with_run: tuple[Workspace, str], tmp_path: Path
                                       ) -> None:
    ws, run_id = ws_with_run
    assert process.server_status(ws) is None
    port = process.free_port()
    started = process.start_server(ws, run_id, port=port,
                                   command=fake_command(tmp_path, run_id, port))
    assert (started.state, started.port, started.run_id) == ("starting", port, run_id)
    record = json.loads((ws.root / "serve" / "studio-server.json").read_text())
    assert record["pid"] == started.pid and record["port"] == port and record["run_id"] == run_id
    assert os.stat(ws.root / "serve" / "studio-server.json").st_mode & 0o077 == 0
    info = wait_for(ws, "running")
    assert info.health["run"] == run_id and info.uptime_s >= 0
    with pytest.raises(RecdashError, match="stop it first"):
        process.start_server(ws, run_id, port=process.free_port())

    key = process.monitor_key(ws)
    assert KeyCheck(ws).name_of(key) == process.MONITOR_KEY
    first = process.read_metrics(info, key, now=100.0)
    assert first["/recommend"]["requests"] == 100
    again = process.read_metrics(info, key, first, previous_at=100.0, now=102.0)
    assert again["/recommend"]["rate"] == 0.0
    with pytest.raises(RecdashError, match="refused the key"):
        process.read_metrics(info, "not-a-key")

    assert process.stop_server(ws) is True
    assert process.server_status(ws) is None
    assert not any(k["name"] == process.MONITOR_KEY for k in list_keys(ws))
    with pytest.raises(ProcessLookupError):
        os.kill(info.pid, 0)
    assert process.stop_server(ws) is False


def test_a_server_that_dies_reads_exited_with_its_output(ws_with_run: tuple[Workspace, str]
                                                         ) -> None:
    ws, run_id = ws_with_run
    port = process.free_port()
    command = [sys.executable, "-c", "import sys; print('no such run', sys.argv); "
               "sys.exit(2)", "--run", run_id, "--port", str(port)]
    process.start_server(ws, run_id, port=port, command=command)
    info = wait_for(ws, "exited")
    assert "no such run" in process.log_tail(info)
    # a new start replaces the dead one's record
    process.start_server(ws, run_id, port=port, command=command)
    wait_for(ws, "exited")
    process.stop_server(ws)
    assert process.server_status(ws) is None


def test_start_refuses_a_taken_port_and_an_unknown_run(ws_with_run: tuple[Workspace, str]
                                                       ) -> None:
    import socket

    ws, run_id = ws_with_run
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(RecdashError, match="cannot be used"):
            process.start_server(ws, run_id, port=s.getsockname()[1])
    with pytest.raises(RecdashError, match="recdash runs"):
        process.start_server(ws, "no-such-run")
    assert process.server_status(ws) is None
