"""`recdash serve`, `recdash keys` and `recdash events`: the HTTP service of a run, its API
keys, and the live events it logged.

`serve` checks the run, points the service's run file at it, and hands over to uvicorn, which
runs one worker process per `--workers` (each loads the run; they share the port, the event log
and the run file), stops gracefully on SIGTERM or Ctrl-C (requests in flight finish), and
restarts a worker that dies.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

from recdash.errors import RecdashError


def _workspace(args: argparse.Namespace):
    from recdash.workspace import Workspace

    return Workspace(args.workspace)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from recdash.runs.load import run_row
    from recdash.serve import api
    from recdash.serve.keys import list_keys
    from recdash.serve.state import run_file, write_run_file

    ws = _workspace(args)
    row = run_row(ws, args.run)  # an unknown run fails here, before any worker starts
    if row["status"] != "finished":
        raise RecdashError(f"run {args.run} is {row['status']}, not finished; serve a finished "
                           "run (recdash runs)")
    if args.workers < 1 or not 1 <= args.port <= 65535:
        raise RecdashError("--workers must be at least 1 and --port within 1..65535")
    if args.rerank:
        from recdash.rerank.presets import get_preset

        get_preset(ws, args.rerank)  # an unknown preset fails here, naming the stored ones
    if not list_keys(ws):
        print("recdash serve: this workspace has no API key yet, so every request but /health "
              "will be refused. Create one: recdash keys create NAME", file=sys.stderr)
    watch = run_file(ws.root, args.port)
    write_run_file(watch, args.run)
    os.environ.update({api.ENV_WORKSPACE: str(ws.root.resolve()), api.ENV_RUN: args.run,
                       api.ENV_WATCH: str(watch.resolve()),
                       api.ENV_RERANK: args.rerank or "",
                       api.ENV_SEARCH: "0" if args.no_search else "1"})
    if args.workers > 1:  # every worker's counts, summed at each scrape
        from recdash.serve.metrics import MULTIPROC_ENV

        folder = ws.root / "serve" / f"metrics-{args.port}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        os.environ[MULTIPROC_ENV] = str(folder.resolve())
    print(f"recdash serve: run {args.run} ({row['model']} on {row['dataset']}) on "
          f"http://{args.host}:{args.port} with {args.workers} worker(s); docs at /docs",
          file=sys.stderr, flush=True)
    uvicorn.run("recdash.serve.api:app_from_env", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level, access_log=args.access_log,
                timeout_graceful_shutdown=args.graceful_seconds)
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from recdash.serve.keys import create_key, list_keys, revoke_key

    ws = _workspace(args)
    if args.action == "create":
        if not args.name:
            raise RecdashError("name the key: recdash keys create NAME (e.g. shop-web)")
        key = create_key(ws, args.name)
        payload = {"name": args.name, "key": key}
        text = (f"API key '{args.name}' (shown once; only its hash is stored):\n{key}\n"
                "Send it as the X-API-Key header.")
    elif args.action == "revoke":
        if not args.name:
            raise RecdashError("name the key: recdash keys revoke NAME (see recdash keys list)")
        if not revoke_key(ws, args.name):
            raise RecdashError(f"no key named '{args.name}'; see recdash keys list")
        payload, text = {"revoked": args.name}, f"Key '{args.name}' revoked."
    else:
        keys = list_keys(ws)
        payload = {"keys": keys}
        text = "\n".join(k["name"] for k in keys) or "No API keys yet (recdash keys create NAME)."
    print(json.dumps(payload) if args.json else text)
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    from recdash.serve.events import EventLog, fold_events, folded_upto

    ws = _workspace(args)
    if args.fold:
        done = fold_events(ws, args.data)
        text = (f"{done['folded']:,} live event(s) added to '{args.data}' (now "
                f"{done['events']:,} events); train again to learn from them"
                if done["folded"] else f"No live events to add to '{args.data}'.")
        print(json.dumps({"dataset": args.data, **done}) if args.json else text)
        return 0
    upto = folded_upto(ws.dataset_report(args.data))
    log = EventLog.of(ws, args.data)
    try:
        total, fresh = log.count(), log.frame(after=upto)
    finally:
        log.close()
    payload = {"dataset": args.data, "logged": total, "not_in_dataset": len(fresh),
               "log": str(log.path)}
    print(json.dumps(payload) if args.json else
          f"{total:,} live event(s) logged for '{args.data}', {len(fresh):,} not yet in its "
          f"tables (recdash events --data {args.data} --fold adds them)")
    return 0


def add_commands(add) -> None:
    """Add `serve` and `keys` to the `recdash` parser (`add(name, help)` makes a subparser)."""
    p = add("serve", "serve a run over HTTP: recommendations, search, explanations, events")
    p.add_argument("--run", required=True, help="a finished run (see `recdash runs`)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default %(default)s: this machine only; "
                        "0.0.0.0 for a load balancer on another host)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes (one per core; they share the port)")
    p.add_argument("--rerank", metavar="PRESET",
                   help="the diversity preset applied when a request names none")
    p.add_argument("--no-search", action="store_true",
                   help="recommendations only: no search index is loaded, /search says so")
    p.add_argument("--log-level", default="warning",
                   choices=("critical", "error", "warning", "info", "debug"))
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.add_argument("--graceful-seconds", type=int, default=10,
                   help="on SIGTERM, how long requests in flight may take to finish")
    p.set_defaults(func=cmd_serve)

    p = add("keys", "create, list or revoke the API keys of `recdash serve`")
    p.add_argument("action", choices=("create", "list", "revoke"))
    p.add_argument("name", nargs="?", help="the key's name (create, revoke)")
    p.set_defaults(func=cmd_keys)

    p = add("events", "the live events a service logged for a dataset; --fold adds them to "
                      "its tables for the next training")
    p.add_argument("--data", required=True)
    p.add_argument("--fold", action="store_true",
                   help="add the events logged since the last fold to the dataset (crash-safe)")
    p.set_defaults(func=cmd_events)
