"""The service as the studio runs it: one background `recdash serve` process per workspace, its
status, its request metrics, and the curl commands that call it.

The process is started the way training jobs are (`recdash.runs.jobs`): detached in a session of
its own, so it outlives the browser tab and the studio, with its output in
`<workspace>/serve/studio-server.log`. Its record (pid, host, port, run, start time, log) is
`<workspace>/serve/studio-server.json`, replaced atomically, so any studio process finds it. The
studio reads `/metrics` with a key of its own (MONITOR_KEY, created at start, revoked at stop)
kept in that record: whoever can read the workspace can already write its catalog, keys
included, so the record gives nobody more than they have. Latency percentiles are estimated from
the Prometheus histogram (`recdash.serve.scrape`).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from recdash.errors import RecdashError
from recdash.locks import release, try_lock
from recdash.serve.keys import create_key, revoke_key
from recdash.serve.scrape import parse_metrics

FOLDER, RECORD, LOG = "serve", "studio-server.json", "studio-server.log"
LOCK = "studio-server.lock"
MONITOR_KEY = "studio-monitor"  # the key the studio reads /metrics with
HEALTH_TIMEOUT_S = 0.5  # the page asks on every redraw: a hung server must not hang it
METRICS_TIMEOUT_S = 2.0
STOP_WAIT_S = 10.0  # SIGTERM, then this long for a graceful shutdown, then SIGKILL


@dataclass(frozen=True)
class ServerInfo:
    """A service: the studio's server, or the settings one would start with.

    Attributes:
        run_id: the run it serves (as started; `health["run"]` after a reload).
        host: the address it listens on.
        port: its TCP port.
        pid: its process id (None: not started; a plan, for the curl commands).
        workers: its uvicorn workers.
        started: when it was started (Unix time).
        log: its output file.
        state: "starting" (the process lives, /health does not answer yet), "running" (/health
            answers), "exited" (the process ended without a stop; its log says why).
        health: what /health answered, when it did.
    """

    run_id: str
    host: str = "127.0.0.1"
    port: int = 8000
    pid: int | None = None
    workers: int = 1
    started: float | None = None
    log: str | None = None
    state: str = "starting"
    health: dict | None = None

    @property
    def url(self) -> str:
        """The base URL to call it at (a wildcard address is called on this host)."""
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    @property
    def uptime_s(self) -> float | None:
        if self.health and isinstance(self.health.get("uptime_s"), (int, float)):
            return float(self.health["uptime_s"])
        return None if self.started is None else max(time.time() - self.started, 0.0)


def folder(ws) -> Path:
    return ws.root / FOLDER


def serve_command(root: Path, run_id: str, host: str, port: int, workers: int) -> list[str]:
    """The command line of `recdash serve` for these settings."""
    return [sys.executable, "-m", "recdash", "--workspace", str(Path(root).resolve()), "serve",
            "--run", run_id, "--host", host, "--port", str(port), "--workers", str(workers)]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (the system's choice)."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _check_port(host: str, port: int) -> None:
    if not 1 <= port <= 65535:
        raise RecdashError(f"port {port} is not a TCP port; use 1024-65535 (e.g. 8000)")
    with socket.socket(_family(host), socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            s.bind((host, port))
        except OSError as err:
            raise RecdashError(f"port {port} on {host} cannot be used ({err.strerror}); pick "
                               "another port") from None


@contextmanager
def _exclusive(ws) -> Iterator[None]:
    """One start or stop at a time, whichever studio session or process asks."""
    fd = try_lock(folder(ws) / LOCK)
    if fd is None:
        raise RecdashError("another session is starting or stopping the service right now; "
                           "wait a moment and look again")
    try:
        yield
    finally:
        release(fd)


def start_server(ws, run_id: str, port: int | None = None, host: str = "127.0.0.1",
                 workers: int = 1, command: list[str] | None = None) -> ServerInfo:
    """Start `recdash serve` for `run_id` in the background; returns at once ("starting": the
    port answers once the run is loaded, a few seconds on).

    Args:
        ws: the workspace.
        run_id: a finished run.
        port: the port (None: a free one).
        host: the address to listen on ("0.0.0.0" for every interface).
        workers: uvicorn worker processes.
        command: the process to start instead of `serve_command(...)` (tests start a stand-in).

    Raises:
        RecdashError: the studio's server is running already, or the port is taken.
    """
    with _exclusive(ws):
        return _start(ws, run_id, port, host, workers, command)


def _start(ws, run_id: str, port: int | None, host: str, workers: int,
           command: list[str] | None) -> ServerInfo:
    current = server_status(ws)
    if current is not None and current.state != "exited":
        raise RecdashError(f"the studio's server is {current.state} already (run "
                           f"{current.run_id}, {current.url}); stop it first")
    if current is not None:
        _forget(ws)
    _check_run(ws, run_id)
    if not isinstance(workers, int) or workers < 1:
        raise RecdashError(f"workers = {workers!r}; use 1 or more (one per CPU core at most)")
    port = free_port(host) if port is None else int(port)
    _check_port(host, port)
    out = folder(ws)
    out.mkdir(parents=True, exist_ok=True)
    key = _monitor_key(ws)
    log = out / LOG
    cmd = command or serve_command(ws.root, run_id, host, port, workers)
    try:
        with open(log, "wb") as f:
            f.write(f"$ {shlex.join(cmd)}\n".encode())
            f.flush()
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=f,
                                    stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as err:
        revoke_key(ws, MONITOR_KEY)
        raise RecdashError(f"the server could not start: {err}") from None
    # Reap it when it ends, so that the studio collects no zombies (a zombie's pid answers
    # os.kill(pid, 0)).
    threading.Thread(target=proc.wait, name=f"reap-serve-{proc.pid}", daemon=True).start()
    info = ServerInfo(run_id=run_id, host=host, port=port, pid=proc.pid, workers=workers,
                      started=time.time(), log=str(log), state="starting")
    _write_record(ws, info, key)
    return info


def _check_run(ws, run_id: str) -> None:
    runs = ws.runs()
    status = runs.loc[runs["id"] == run_id, "status"]
    if status.empty:
        raise RecdashError(f"no run {run_id!r} in {ws.root}; list runs with `recdash runs`")
    if status.iloc[0] != "finished":
        raise RecdashError(f"run {run_id} is {status.iloc[0]}, not finished; serve a finished "
                           "run")


def _monitor_key(ws) -> str:
    revoke_key(ws, MONITOR_KEY)  # a crashed studio's; its text is lost with the old record
    return create_key(ws, MONITOR_KEY)


def _write_record(ws, info: ServerInfo, key: str) -> None:
    record = {"pid": info.pid, "port": info.port, "host": info.host, "run_id": info.run_id,
              "workers": info.workers, "started": info.started, "log": info.log, "key": key}
    path = folder(ws) / RECORD
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the monitor key
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(record, f)
    os.replace(tmp, path)


def _read_record(ws) -> dict | None:
    try:
        record = json.loads((folder(ws) / RECORD).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None  # unreadable: as if none (start_server writes a new one)
    fields = ("pid", "port", "host", "run_id")
    ok = isinstance(record, dict) and all(f in record for f in fields) \
        and isinstance(record["pid"], int)
    return record if ok else None


def monitor_key(ws) -> str | None:
    """The key the studio reads its server's /metrics with (None when it has no server)."""
    record = _read_record(ws)
    return record.get("key") if record else None


def server_status(ws) -> ServerInfo | None:
    """The studio's server as it is now, or None when it has none (never started, stopped)."""
    record = _read_record(ws)
    if record is None:
        return None
    info = ServerInfo(run_id=record["run_id"], host=record["host"], port=int(record["port"]),
                      pid=record["pid"], workers=int(record.get("workers", 1)),
                      started=record.get("started"), log=record.get("log"))
    if not _alive(info):
        return replace(info, state="exited")
    health = _health(info)
    return replace(info, state="running" if health else "starting", health=health)


def _alive(info: ServerInfo) -> bool:
    """Whether the record's pid is still the server (not a zombie, not a reused pid)."""
    pid = info.pid
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False  # our own child, ended: now reaped
    except ChildProcessError:
        pass  # not our child (started by an earlier studio process), or reaped already
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False  # gone, or another user's process under a reused pid
    proc = Path(f"/proc/{pid}")
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc here (macOS): trust the pid
    return state != "Z" and info.run_id.encode() in cmdline and str(info.port).encode() in cmdline


def _health(info: ServerInfo) -> dict | None:
    try:
        with urllib.request.urlopen(info.url + "/health", timeout=HEALTH_TIMEOUT_S) as resp:
            body = json.loads(resp.read())
    except (OSError, ValueError):  # refused while loading, a timeout, not JSON
        return None
    return body if isinstance(body, dict) and body.get("status") == "ok" else None


def stop_server(ws) -> bool:
    """Stop the studio's server: SIGTERM (a graceful shutdown), then SIGKILL of its process
    group after STOP_WAIT_S; forget its record and revoke the studio's key.

    Returns:
        Whether a server process was running.
    """
    with _exclusive(ws):
        return _stop(ws)


def _stop(ws) -> bool:
    if _read_record(ws) is None:
        return False
    info = server_status(ws)
    was_running = info is not None and info.state != "exited"
    if was_running:
        _signal(info.pid, signal.SIGTERM, group=False)  # the uvicorn master stops its workers
        deadline = time.monotonic() + STOP_WAIT_S
        while _alive(info) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(info):
            _signal(info.pid, signal.SIGKILL, group=True)  # the workers too: nobody else will
            while _alive(info) and time.monotonic() < deadline + 5:
                time.sleep(0.05)
    _forget(ws)
    return was_running


def _signal(pid: int, sig: int, group: bool) -> None:
    try:
        if group and os.getpgid(pid) == pid:  # its own session (start_new_session)
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _forget(ws) -> None:
    revoke_key(ws, MONITOR_KEY)
    (folder(ws) / RECORD).unlink(missing_ok=True)


def log_tail(info: ServerInfo, lines: int = 20) -> str:
    """The last `lines` lines of the server's output ("" when there is none)."""
    if not info.log:
        return ""
    try:
        text = Path(info.log).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip("\n").split("\n")[-lines:])


# Metrics -----------------------------------------------------------------------------------
def fetch_metrics(info: ServerInfo, key: str) -> str:
    """The server's /metrics text.

    Raises:
        RecdashError: the server refuses the key or does not answer.
    """
    request = urllib.request.Request(info.url + "/metrics", headers={"X-API-Key": key})
    try:
        with urllib.request.urlopen(request, timeout=METRICS_TIMEOUT_S) as resp:
            return resp.read().decode("utf-8")
    except urllib.error.HTTPError as err:
        if err.code in (401, 403):
            raise RecdashError(f"{info.url}/metrics refused the key (HTTP {err.code}); restart "
                               "the server from the studio to give it a new one") from None
        raise RecdashError(f"{info.url}/metrics answered HTTP {err.code}") from None
    except OSError as err:
        raise RecdashError(f"{info.url}/metrics does not answer ({err}); is the server "
                           "running?") from None


def read_metrics(info: ServerInfo, key: str, previous: dict | None = None,
                 previous_at: float | None = None, now: float | None = None) -> dict:
    """Per endpoint: requests, errors, p50/p99 latency (ms, since the server started) and, given
    the previous reading and when it was taken, requests per second since then.

    Returns:
        `recdash.serve.scrape.parse_metrics`'s dict.
    """
    text = fetch_metrics(info, key)
    now = time.time() if now is None else now
    elapsed = None if previous_at is None else now - previous_at
    return parse_metrics(text, previous, elapsed)


def _quoted(text: str) -> str:
    """`text` in single quotes for a POSIX shell, always (shlex.quote leaves plain URLs bare)."""
    return "'" + text.replace("'", "'\"'\"'") + "'"


# What to paste ------------------------------------------------------------------------------
def curl_commands(info: ServerInfo, key_placeholder: str = "$RECDASH_KEY", user: str = "U",
                  item: str = "I", query: str = "shoes", k: int = 10) -> list[tuple[str, str]]:
    """Ready-to-paste curl commands for every endpoint of the server, as (label, command).

    Args:
        info: the server (its url and run).
        key_placeholder: what goes in the X-API-Key header; the default is a shell variable the
            reader sets once (`export RECDASH_KEY=...`).
        user: a real shopper of the run's dataset, so the commands answer something.
        item: a real product of it.
        query: a search query.
        k: how many results to ask for.
    """
    base = info.url
    key = f'-H "X-API-Key: {key_placeholder}"'  # double quotes: the shell expands the variable
    json_type = '-H "Content-Type: application/json"'
    run_id = (info.health or {}).get("run", info.run_id)

    def get(path: str, params: dict | None = None, auth: bool = True) -> str:
        url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        return "curl -s " + (key + " " if auth else "") + _quoted(url)

    def post(path: str, body: dict) -> str:
        return (f"curl -s -X POST {key} {json_type} \\\n  -d {_quoted(json.dumps(body))} "
                + _quoted(base + path))

    similar = f"/items/{urllib.parse.quote(str(item), safe='')}/similar"
    return [
        ("Recommendations for a shopper", get("/recommend", {"user": user, "k": k})),
        ("Recommendations after a basket of items (an anonymous visitor)",
         post("/recommend", {"items": [item], "k": k})),
        ("Search as a shopper", get("/search", {"q": query, "user": user})),
        ("Why an item is recommended", get("/explain", {"user": user, "item": item})),
        ("Similar items", get(similar, {"k": k})),
        ("Send events", post("/events", {"events": [{"user": user, "item": item,
                                                     "type": "view"}]})),
        ("Health (no key needed)", get("/health", auth=False)),
        ("Metrics (Prometheus)", get("/metrics")),
        ("Serve another run", post("/admin/reload", {"run": run_id})),
    ]
