"""Load test of `recdash serve` on 127.0.0.1: latency and throughput of /recommend over a
100k-product catalog and of /health (the floor), at 1, 16 and 64 concurrent clients; memory over
100,000 requests; and a posted event followed by the shopper's next /recommend.

The shop: Amazon Games' real shoppers and events (50,546 shoppers), its 16,859 products tiled
with a copy number in the title up to --items products (the copies have no events: new products
for the ranker). An attention ranker is trained on it for --train-minutes on one thread without
the text tower (serving latency does not depend on how well it was trained, nor on the text
tower, whose item vectors are folded into the item table at load). The dataset and run are kept
in --workspace and reused by later runs of this script.

The service is started as a user starts it: `recdash serve --run RUN --workers W --no-search`
(recommendations only, so no search index of 100k products is built). The load comes from wrk
(Debian's package `wrk`: C, one epoll thread), C keep-alive connections each sending its next
request as soon as the last is answered (a closed loop), bounded in time (--seconds) and in
count (its Lua script stops at --requests). Every /recommend asks for a shopper drawn at random
from the stored ones, top 10. A peer measured in the same run: the same load from an asyncio
loop of httpx clients in this process, which needs about a millisecond of CPU per request and so
takes one of the machine's two cores from the service (its CPU share is reported).
The pair check (POST /events, then the same shopper's /recommend, which must count the event)
needs each answer before the next request, so it runs on the httpx loop.

Usage (from the repository root):
    OMP_NUM_THREADS=1 .venv/bin/python bench/serve_load.py [--workspace DIR] [--items 100000] \
        [--workers 2] [--seconds 20] [--requests 20000] [--soak 100000] [--pairs 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (DEFAULT_DATASETS, machine, markdown_table, rel,  # noqa: E402
                          require_datasets, write_json)

NAME = "games-tiled"
MAX_SECONDS = 120  # per measurement: the loop stops by itself
K = 10


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def prepare(ws, datasets: Path, n_items: int, minutes: float) -> str:
    """The tiled shop and a finished attention run on it (made once, then reused)."""
    import pandas as pd

    from recdash.data import schema as S
    from recdash.data.dataset import prepare_dataset, prepare_public

    name = f"{NAME}-{n_items}"
    if not ws.has_dataset(name):
        base, report = prepare_public("games", require_datasets(datasets, ["amazon-games"]) /
                                      "amazon-games")
        assert base is not None, report.format()
        cat = base.catalog
        rows = np.arange(n_items) % len(cat)
        copy = np.arange(n_items) // len(cat)
        tiled = cat.iloc[rows].reset_index(drop=True)
        tiled[S.ITEM] = [i if c == 0 else f"{i}~{c}" for i, c in zip(tiled[S.ITEM], copy)]
        tiled[S.TITLE] = [t if c == 0 else f"{t} {c}" for t, c in zip(tiled[S.TITLE], copy)]
        ds, report = prepare_dataset(name, base.interactions, pd.DataFrame(tiled))
        assert ds is not None, report.format()
        ws.save_dataset(ds, source="bench/serve_load.py")
        log(f"stored {name}: {len(ds.interactions):,} events, {len(tiled):,} products")
    runs = ws.runs(name)
    done = runs[(runs.status == "finished") & (runs.model == "attention")]
    if len(done):
        return str(done.id.iloc[-1])
    log(f"training the attention ranker on {name} for up to {minutes} min")
    out = subprocess.run([sys.executable, "-m", "recdash", "--workspace", str(ws.root), "train",
                          "--data", name, "--model", "attention", "--no-text", "--no-tune",
                          "--max-minutes", str(minutes), "--json"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["run"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(root: Path, run_id: str, workers: int) -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "recdash", "--workspace", str(root), "serve",
                             "--run", run_id, "--port", str(port), "--workers", str(workers),
                             "--no-search"], stderr=subprocess.DEVNULL,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    ready = 0
    while time.monotonic() < deadline and ready < 3 * workers:
        try:
            ready += httpx.get(url + "/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            time.sleep(0.5)
    if ready < 3 * workers:
        proc.kill()
        raise SystemExit("bench: recdash serve did not answer in 300 s")
    return proc, url


def server_rss_mb(pid: int) -> float:
    """Resident memory of the service: its process and every worker under it."""
    pids = [pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            pids.append(int(stat.parent.name))
    total = 0.0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


async def closed_loop(url: str, key: str, paths, clients: int, count: int,
                      max_seconds: float = MAX_SECONDS) -> dict:
    """`count` requests (at most `max_seconds`) from `clients` keep-alive clients; `paths(i)`
    gives the i-th request as (method, path, json body or None)."""
    import httpx

    latencies: list[float] = []
    errors: list[int] = []
    issued = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, limits=limits,
                                 timeout=30) as client:
        deadline = time.monotonic() + max_seconds

        async def one_client() -> None:
            nonlocal issued
            while issued < count and time.monotonic() < deadline:
                method, path, body = paths(issued)
                issued += 1
                t0 = time.perf_counter()
                r = await client.request(method, path, json=body)
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors.append(r.status_code)

        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    ms = 1e3 * np.asarray(latencies)
    return {"clients": clients, "requests": len(ms), "errors": len(errors),
            "error_codes": sorted(set(errors)), "seconds": round(wall, 3),
            "throughput_rps": round(len(ms) / wall, 1), "p50_ms": round(float(np.percentile(ms, 50)), 3),
            "p99_ms": round(float(np.percentile(ms, 99)), 3),
            "max_ms": round(float(ms.max()), 3), "client_cpu_share": round(cpu / wall, 3)}


async def event_pairs(url: str, key: str, users: list[str], items: list[str], clients: int,
                      count: int) -> dict:
    """POST /events (one view) then GET /recommend for the same shopper, timed as a pair; the
    answer must count the new event."""
    import httpx

    latencies: list[float] = []
    missed: list[str] = []
    issued = 0
    rng = random.Random(clients)
    token = f"{time.time_ns():x}"  # new shoppers in every run, whatever the log holds
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, timeout=30) as client:
        deadline = time.monotonic() + MAX_SECONDS

        async def one_client(c: int) -> None:
            nonlocal issued, missed
            while issued < count and time.monotonic() < deadline:
                user = f"bench-visitor-{token}-{c}-{issued}"
                issued += 1
                item = rng.choice(items)
                t0 = time.perf_counter()
                posted = await client.post("/events", json={"events": [
                    {"user": user, "item": item, "type": "view"}]})
                answer = await client.get("/recommend", params={"user": user, "k": K})
                latencies.append(time.perf_counter() - t0)
                if posted.status_code != 200 or answer.status_code != 200:
                    missed.append(f"HTTP {posted.status_code}/{answer.status_code}")
                elif answer.json()["live_events"] != 1:
                    missed.append(f"live_events {answer.json()['live_events']}")

        await asyncio.gather(*(one_client(c) for c in range(clients)))
    ms = 1e3 * np.asarray(latencies)
    return {"clients": clients, "pairs": len(ms), "not_reflected_or_failed": len(missed),
            "why": sorted(set(missed)),
            "p50_ms": round(float(np.percentile(ms, 50)), 3),
            "p99_ms": round(float(np.percentile(ms, 99)), 3)}


WRK_SCRIPT = """
local paths, n, done_n, limit = {}, 0, 0, tonumber(os.getenv("WRK_LIMIT"))
for line in io.lines(os.getenv("WRK_PATHS")) do n = n + 1; paths[n] = line end
local key = os.getenv("WRK_KEY")
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i - 1) % n + 1], {["X-API-Key"] = key})
end
response = function(status, headers, body)
  done_n = done_n + 1
  if done_n >= limit then wrk.thread:stop() end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %d, "seconds": %.6f, "p50_us": %d, ' ..
    '"p90_us": %d, "p99_us": %d, "max_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "timeout": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.status, e.connect + e.read + e.write + e.timeout,
    e.connect, e.read, e.write, e.timeout))
end
"""


def wrk_load(url: str, key: str, paths: list[str], clients: int, seconds: float,
             limit: int) -> dict:
    """wrk's closed loop: `clients` connections over `paths` in turn, until `limit` answers or
    `seconds` have passed."""
    folder = Path(tempfile.mkdtemp(prefix="recdash-wrk-"))
    (folder / "load.lua").write_text(WRK_SCRIPT)
    (folder / "paths.txt").write_text("\n".join(paths) + "\n")
    env = {**os.environ, "WRK_PATHS": str(folder / "paths.txt"), "WRK_KEY": key,
           "WRK_LIMIT": str(limit)}
    out = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{int(seconds)}s", "--timeout", "10s",
                          "-s", str(folder / "load.lua"), url], capture_output=True, text=True,
                         env=env, timeout=seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"bench: wrk gave no result:\n{out.stdout}\n{out.stderr}")
    raw = json.loads(line[len("RESULT "):])
    return {"clients": clients, "requests": raw["requests"], "errors": raw["non_2xx"] +
            raw["socket_errors"], "non_2xx": raw["non_2xx"],
            "socket_errors": {k: raw[k] for k in ("connect", "read", "write", "timeout")},
            "capped": raw["requests"] >= limit,
            "seconds": round(raw["seconds"], 3),
            "throughput_rps": round(raw["requests"] / raw["seconds"], 1),
            "p50_ms": raw["p50_us"] / 1e3, "p90_ms": raw["p90_us"] / 1e3,
            "p99_ms": raw["p99_us"] / 1e3, "max_ms": raw["max_us"] / 1e3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", default=str(Path(tempfile.gettempdir()) /
                                                   "recdash-serve-bench"))
    parser.add_argument("--datasets", default=DEFAULT_DATASETS)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--train-minutes", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, nargs="*", default=[1, 16, 64])
    parser.add_argument("--seconds", type=float, default=20,
                        help="longest wrk run per endpoint and concurrency")
    parser.add_argument("--requests", type=int, default=2_000_000,
                        help="most requests per endpoint and concurrency (a cap: each run is "
                             "--seconds long unless it reaches this)")
    parser.add_argument("--peer-requests", type=int, default=3_000,
                        help="requests per concurrency from the httpx peer (/recommend)")
    parser.add_argument("--soak", type=int, default=100_000,
                        help="/recommend requests at 16 clients for the memory check")
    parser.add_argument("--pairs", type=int, default=2_000)
    args = parser.parse_args()
    from recdash.serve.keys import create_key
    from recdash.workspace import Workspace

    if shutil.which("wrk") is None:
        raise SystemExit("bench: wrk is not installed; apt-get install -y wrk (Debian's package)")
    out = {"machine": machine(), "items": args.items, "workers": args.workers, "k": K,
           "client": "wrk 4.1 (one thread, keep-alive connections, Lua script); peer and "
                     "pairs: httpx.AsyncClient on one asyncio loop in the benchmark's process"}
    ws = Workspace(Path(args.workspace))
    run_id = prepare(ws, Path(args.datasets), args.items, args.train_minutes)
    ds = ws.load_dataset(f"{NAME}-{args.items}")
    users = sorted(ds.interactions["user_id"].astype(str).unique())
    items = ds.catalog["item_id"].astype(str).tolist()
    key = create_key(ws, f"bench-{int(time.time())}")
    out["run"], out["shoppers"] = run_id, len(users)
    out["load_average_before_load"] = [round(x, 2) for x in os.getloadavg()]
    proc, url = start(ws.root, run_id, args.workers)
    rng = random.Random(0)
    picks = [rng.choice(users) for _ in range(max(args.requests, args.soak) + 1000)]

    def recommend(i: int):
        return "GET", f"/recommend?user={picks[i]}&k={K}", None

    rec_paths = [f"/recommend?user={u}&k={K}" for u in picks[:50_000]]
    try:
        wrk_load(url, key, rec_paths, 16, 10, 3000)  # warm-up
        rows = []
        for endpoint, paths in (("/health", ["/health"]), ("/recommend", rec_paths)):
            for clients in args.clients:
                res = wrk_load(url, key, paths, clients, args.seconds, args.requests)
                out.setdefault("load", {}).setdefault(endpoint, []).append(res)
                log(f"{endpoint} x{clients}: p50 {res['p50_ms']} p99 {res['p99_ms']} ms, "
                    f"{res['throughput_rps']} req/s, {res['errors']} errors")
                rows.append([endpoint, clients, f"{res['requests']:,}", f"{res['p50_ms']:.1f}",
                             f"{res['p99_ms']:.1f}", f"{res['throughput_rps']:.0f}",
                             res["errors"]])
        peer_rows = []
        for clients in args.clients:
            res = asyncio.run(closed_loop(url, key, recommend, clients, args.peer_requests))
            out.setdefault("peer_httpx", []).append(res)
            log(f"httpx peer /recommend x{clients}: p50 {res['p50_ms']} p99 {res['p99_ms']} ms")
            peer_rows.append(["/recommend", clients, f"{res['requests']:,}",
                              f"{res['p50_ms']:.1f}", f"{res['p99_ms']:.1f}",
                              f"{res['throughput_rps']:.0f}", res["errors"],
                              f"{res['client_cpu_share']:.0%}"])
        rss_before = server_rss_mb(proc.pid)
        rate = next(r["throughput_rps"] for r in out["load"]["/recommend"] if r["clients"] == 16)
        soak = wrk_load(url, key, rec_paths, 16, min(900, 1.5 * args.soak / rate + 10),
                        args.soak)  # stops at --soak answers; its rate is not reported
        rss_after = server_rss_mb(proc.pid)
        soak = {k: v for k, v in soak.items() if k not in ("seconds", "throughput_rps")}
        out["soak"] = {**soak, "rss_mb_before": round(rss_before, 1),
                       "rss_mb_after": round(rss_after, 1)}
        log(f"soak: {soak['requests']:,} requests, {soak['errors']} errors, RSS "
            f"{rss_before:.0f} -> {rss_after:.0f} MB")
        pair_rows = []
        for clients in (1, 16):
            res = asyncio.run(event_pairs(url, key, users, items, clients, args.pairs))
            out.setdefault("event_then_recommend", []).append(res)
            log(f"events+recommend x{clients}: p50 {res['p50_ms']} p99 {res['p99_ms']} ms, "
                f"{res['not_reflected_or_failed']} not reflected or failed {res['why']}")
            pair_rows.append([clients, res["pairs"], f"{res['p50_ms']:.1f}",
                              f"{res['p99_ms']:.1f}", res["not_reflected_or_failed"]])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    out["table"] = markdown_table(["endpoint (wrk)", "clients", "requests", "p50 ms", "p99 ms",
                                   "req/s", "errors"], rows)
    out["peer_table"] = markdown_table(["endpoint (httpx peer)", "clients", "requests",
                                        "p50 ms", "p99 ms", "req/s", "errors", "client CPU"],
                                       peer_rows)
    out["pairs_table"] = markdown_table(["clients", "pairs", "p50 ms", "p99 ms",
                                         "not reflected or failed"], pair_rows)
    for name in ("table", "peer_table", "pairs_table"):
        print(out[name])
    print(f"wrote {rel(write_json(f'serve_load_w{args.workers}.json', out))}")


if __name__ == "__main__":
    main()
