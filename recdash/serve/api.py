"""The HTTP API a shop calls: recommendations, search, explanations, similar items and live
events, over one trained run (`recdash serve --run RUN`). FastAPI app; OpenAPI docs at /docs.

Every answer goes through the one serving path (`recdash.recommend.Service`, the search's
`Searcher`, the explanations), reached through `recdash.serve.state`; this module only maps
HTTP onto it. Fast endpoints compute on the event loop (one request at a time per worker, no
thread switching under the GIL: the latency of a CPU-bound answer is its compute); slow ones
(explanations, reloads, the fsync of posted events, deletions) run in the thread pool so the
fast ones keep flowing meanwhile. Scale out with several workers (`--workers`), one per core.

Errors are JSON: 4xx names the field and the fix (`{"error", "problems": [{"field", "error",
"fix"}]}`), a 5xx never shows a traceback (it goes to the server's log). Every endpoint but
/health needs an API key (`X-API-Key: KEY` or `Authorization: Bearer KEY`); /docs and
/openapi.json describe the API and hold no shop data, so they are open.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
import uuid
from typing import Annotated

import pandas as pd
import numpy as np
from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, Field, field_validator

from recdash.data import schema as S
from recdash.errors import RecdashError
from recdash.recommend import MAX_K, History
from recdash.serve.batching import Batcher
from recdash.serve.events import MAX_BATCH, Event
from recdash.serve.keys import KeyCheck
from recdash.serve.metrics import CONTENT_TYPE_LATEST, Metrics
from recdash.serve.state import NotFound, ServingState, Unavailable

MAX_BODY_BYTES = 2 * 1024 * 1024  # a request body; 10,000 events fit in about 1 MB
MAX_ID_CHARS = 200
MAX_HISTORY = 1_000  # events in a history given to POST /recommend
ENV_WORKSPACE, ENV_RUN, ENV_WATCH = "RECDASH_WORKSPACE", "RECDASH_SERVE_RUN", "RECDASH_SERVE_WATCH"
ENV_RERANK, ENV_SEARCH = "RECDASH_SERVE_RERANK", "RECDASH_SERVE_SEARCH"

ID = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]
# Module level: the app's functions are annotated as strings (postponed annotations), which
# FastAPI resolves in this module's globals.
KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False,
                          description="a key from `recdash keys create NAME`")


class EventIn(BaseModel):
    """One event: who, which product, what they did, and when (optional)."""

    user: ID = Field(description="the shopper's or session's ID")
    item: ID = Field(description="the product's ID")
    type: str = Field(S.VIEW, max_length=40, description="view, cart or purchase (or a "
                      "common synonym: click, addtocart, transaction, ...)")
    time: float | str | None = Field(None, description="epoch seconds or an ISO 8601 time; "
                                     "default: when the service receives it")

    @field_validator("type")
    @classmethod
    def known_type(cls, value: str) -> str:
        label = S.normalise_event_label(value)
        if label is None:
            raise ValueError(f"unknown event type {value!r}; use one of "
                             f"{', '.join(S.EVENT_TYPES)}")
        return label

    @field_validator("time")
    @classmethod
    def readable_time(cls, value):
        if value is None:
            return None
        try:
            stamp = pd.to_datetime(value, unit="s", utc=True) if isinstance(value, float | int) \
                else pd.to_datetime(value, utc=True)
        except (ValueError, TypeError, OverflowError):
            stamp = pd.NaT
        if pd.isna(stamp):
            raise ValueError(f"{value!r} is not a time; give epoch seconds or ISO 8601 "
                             "(2026-12-01T10:00:00Z)")
        return stamp.timestamp()


class EventsIn(BaseModel):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)


class HistoryIn(BaseModel):
    """A history to recommend after: an anonymous visitor's clicks, an edited basket."""

    items: list[ID] = Field(max_length=MAX_HISTORY, description="item IDs, oldest first")
    types: list[str] | None = Field(None, description="one event type per item (default: views)")
    times: list[float | str | None] | None = Field(None, description="one time per item")
    session: ID | None = Field(None, description="a session or shopper whose stored and live "
                               "events come first")
    k: int = Field(10, ge=1, le=MAX_K)
    rerank: str | None = Field(None, description="a stored diversity preset")


class ReloadIn(BaseModel):
    run: str | None = Field(None, max_length=100, description="the run to serve (default: "
                            "the one served, loaded again)")


FIXES = {
    "missing": "add it",
    "int_parsing": "give a whole number",
    "float_parsing": "give a number",
    "bool_parsing": "give true or false",
    "json_invalid": "send a valid JSON body with Content-Type: application/json",
    "model_attributes_type": "send a JSON object",
    "dict_type": "send a JSON object",
    "list_type": "send a JSON list",
    "too_long": "send fewer (split a big batch into several requests)",
    "too_short": "send at least one",
    "string_too_long": f"IDs have at most {MAX_ID_CHARS} characters",
    "string_too_short": "give a non-empty value",
}


def _problems(exc: RequestValidationError) -> list[dict]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        field = ".".join(loc[1:] if loc and loc[0] in ("query", "body", "path") else loc)
        kind = err.get("type", "")
        message = str(err.get("msg", "")).removeprefix("Value error, ")
        fix = err.get("fix") or FIXES.get(kind)
        if fix is None and kind == "value_error" and "; " in message:
            message, fix = message.split("; ", 1)  # our validators say "what; the fix"
        if fix is None:
            fix = "use a value in the allowed range" if kind.endswith(("than", "than_equal")) \
                else "see /docs for the request's shape"
        out.append({"field": field or "body", "error": message, "fix": fix})
    return out


def _error(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


class Guard:
    """ASGI middleware: request-body limit, timing and metrics for every request."""

    def __init__(self, app, metrics: Metrics, max_body: int = MAX_BODY_BYTES) -> None:
        self.app, self.metrics, self.max_body = app, metrics, max_body

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]
        started = [False]

        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                status[0], started[0] = message["status"], True
            await send(message)

        headers = dict(scope.get("headers") or [])
        try:
            declared = int(headers.get(b"content-length", b"0") or 0)
        except ValueError:
            declared = 0
        try:
            if declared > self.max_body:
                await self._too_large(scope, receive, sending)
                return
            seen = [0]

            async def receiving():
                message = await receive()
                if message["type"] == "http.request":
                    seen[0] += len(message.get("body", b""))
                    if seen[0] > self.max_body:
                        raise _TooLarge
                return message

            try:
                await self.app(scope, receiving, sending)
            except _TooLarge:
                if not started[0]:
                    await self._too_large(scope, receive, sending)
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(endpoint, status[0], time.perf_counter() - start)

    async def _too_large(self, scope, receive, send) -> None:
        response = _error(413, f"the request body is over {self.max_body:,} bytes",
                          problems=[{"field": "body", "error": "too large",
                                     "fix": f"send at most {MAX_BATCH:,} events or "
                                            f"{MAX_HISTORY:,} history items per request"}])
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def create_app(ws, run_id: str, watch=None, default_rerank: str | None = None,
               search: bool = True) -> FastAPI:
    """The API over `run_id` of workspace `ws`.

    Args:
        ws: the Workspace.
        run_id: the run served first.
        watch: the run file the service's workers share (`state.run_file`), or None.
        default_rerank: the diversity preset applied when a request names none.
        search: serve /search (its index is loaded with the run); False for a service of
            recommendations only.

    Raises:
        RecdashError: the run cannot be served.
    """
    state = ServingState(ws, run_id, watch, search=search)
    metrics = Metrics()
    metrics.serving(state.current.run_id, state.current.dataset)
    keys = KeyCheck(ws)
    app = FastAPI(title="recdash", version="1", summary="Recommendations, search and "
                  "explanations for a shop, from one trained run", redoc_url=None)
    app.state.serving = state
    batcher = Batcher()
    app.state.batcher = batcher
    app.add_middleware(Guard, metrics=metrics)
    async def key_required(request: Request,
                           key: Annotated[str | None, Depends(KEY_HEADER)] = None) -> str:
        if key is None:
            auth = request.headers.get("authorization", "")
            key = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        name = keys.name_of(key)
        if name is None:
            fix = ("send a key in the X-API-Key header" if keys.any() else
                   "this workspace has no API key yet: create one with `recdash keys create "
                   "NAME` and send it in the X-API-Key header")
            raise _Unauthorised("missing or unknown API key" if key else "an API key is "
                                "required", fix)
        state.follow()
        return name

    guarded = [Depends(key_required)]

    @app.exception_handler(_Unauthorised)
    async def unauthorised(request: Request, exc: _Unauthorised) -> JSONResponse:
        return _error(401, exc.message, problems=[{"field": "X-API-Key", "error": exc.message,
                                                   "fix": exc.fix}])

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = _problems(exc)
        return _error(422, "the request is not valid: " + "; ".join(
            f"{p['field']}: {p['error']}" for p in problems), problems=problems)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return _error(404, str(exc), problems=[{"field": exc.field, "error": "not found",
                                                "fix": str(exc).split("Fix: ")[-1]}])

    @app.exception_handler(Unavailable)
    async def unavailable(request: Request, exc: Unavailable) -> JSONResponse:
        return _error(503, str(exc))

    @app.exception_handler(RecdashError)
    async def refused(request: Request, exc: RecdashError) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> JSONResponse:
        ref = uuid.uuid4().hex[:8]
        print(f"recdash serve: error {ref} on {request.method} {request.url.path}:\n"
              + "".join(traceback.format_exception(exc)), file=sys.stderr, flush=True)
        return _error(500, f"the service failed on this request (error {ref}, in its log)")

    @app.get("/health", tags=["service"])
    async def health() -> dict:
        """Whether the service answers, and what it serves (no key needed)."""
        served = state.current
        return {"status": "ok", "run": served.run_id, "dataset": served.dataset,
                "model": type(served.service.model).__name__,
                "items": int(served.service.model.n_items),
                "uptime_s": round(time.time() - state.started, 3)}

    @app.get("/metrics", tags=["service"], dependencies=guarded)
    async def prometheus() -> Response:
        """Requests, latencies and errors per endpoint, in Prometheus' text format."""
        return Response(metrics.text(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/recommend", tags=["recommendations"], dependencies=guarded)
    async def recommend_user(user: Annotated[str, Query(min_length=1, max_length=MAX_ID_CHARS,
                                                        description="shopper or session")],
                             k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
                             rerank: Annotated[str | None, Query(max_length=64)] = None
                             ) -> JSONResponse:
        """A shopper's or session's top-k, from their stored history and live events."""
        served = state.current
        who = served.shopper(user)
        history, live = served.history(who)
        preset = _preset(rerank, default_rerank)
        rows = await batcher.recommend(served, history, k, preset)
        return JSONResponse({"run": served.run_id, "user": who,
                             "known_user": served.service.knows(who), "live_events": live,
                             "rerank": preset, "recommendations": rows})

    @app.post("/recommend", tags=["recommendations"], dependencies=guarded)
    async def recommend_history(body: HistoryIn) -> JSONResponse:
        """The top-k after a given history (e.g. an anonymous session's clicks)."""
        served = state.current
        n = len(body.items)
        for name, given in (("types", body.types), ("times", body.times)):
            if given is not None and len(given) != n:
                raise _invalid(name, f"{len(given)} {name} for {n} items", "give one per item")
        given, unknown = served.encode(list(body.items), body.types, body.times)
        history = given
        who = None
        if body.session:
            who = served.shopper(body.session)
            before, _ = served.history(who)
            history = History(np.concatenate([before.items, given.items]),
                              np.concatenate([before.events, given.events]),
                              np.concatenate([before.times, given.times]))
        preset = _preset(body.rerank, default_rerank)
        rows = await batcher.recommend(served, history, body.k, preset)
        return JSONResponse({"run": served.run_id, "session": who, "unknown_items": unknown,
                             "rerank": preset, "recommendations": rows})

    @app.get("/search", tags=["search"], dependencies=guarded)
    async def search(q: Annotated[str, Query(min_length=1, max_length=500)],
                     user: Annotated[str | None, Query(max_length=MAX_ID_CHARS)] = None,
                     k: Annotated[int, Query(ge=1, le=MAX_K)] = 20,
                     personal: Annotated[float | None, Query(ge=0, le=1)] = None,
                     category: Annotated[str | None, Query(max_length=200)] = None,
                     brand: Annotated[list[str] | None, Query()] = None,
                     min_price: Annotated[float | None, Query(ge=0)] = None,
                     max_price: Annotated[float | None, Query(ge=0)] = None) -> dict:
        """The catalog's best matches for a query, personalised for `user` when given."""
        from recdash.search import Filters, SearchSettings

        served = state.current
        searcher = served.searcher()
        who = served.shopper(user) if user else None
        history = served.history(who)[0] if who else None
        settings = SearchSettings() if personal is None else SearchSettings(personal=personal)
        result = searcher.search(q, k, history, settings,
                                 Filters(category, tuple(brand or ()), (min_price, max_price)))
        from recdash.serve.state import records

        return {"run": served.run_id, "user": who, "personalised": result.personalised,
                "query": result.query, "terms": result.terms,
                "corrections": result.corrections, "notes": result.notes,
                "results": records(result.frame.drop(columns=["highlighted"])),
                "facets": {name: records(f) for name, f in result.facets.items()}}

    @app.get("/explain", tags=["recommendations"], dependencies=guarded)
    def explain(user: Annotated[str, Query(min_length=1, max_length=MAX_ID_CHARS)],
                item: Annotated[str, Query(min_length=1, max_length=MAX_ID_CHARS)],
                k: Annotated[int, Query(ge=1, le=100)] = 10) -> dict:
        """Why `item` is recommended to `user`: the reason line, SHAP values of their events
        and of the item's signals, and the events whose removal drops it from the top k."""
        served = state.current
        who = served.shopper(user)
        return {"run": served.run_id, "user": who, **served.explain(who, item, k)}

    @app.get("/items/{item_id}/similar", tags=["recommendations"], dependencies=guarded)
    async def similar(item_id: Annotated[str, Path(max_length=MAX_ID_CHARS)],
                      k: Annotated[int, Query(ge=1, le=MAX_K)] = 10) -> dict:
        """The products most like one product, by the run's item vectors (else the titles'
        text, else the category)."""
        served = state.current
        source, rows = served.similar(item_id, k)
        return {"run": served.run_id, "item_id": item_id, "similarity": source,
                "similar": rows}

    @app.post("/events", tags=["events"], dependencies=guarded)
    def events(body: EventsIn) -> dict:
        """Store live events durably (on disk before the answer); the next answer for their
        shoppers reflects them, on every worker, without retraining."""
        served = state.current
        batch = [Event(e.user, e.item, e.type, e.time) for e in body.events]
        last = served.record(batch)
        metrics.events.inc(len(batch))
        known = served.service.model.codes_of([e.item_id for e in batch]) >= 0
        unknown = sorted({e.item_id for e, ok in zip(batch, known) if not ok})
        return {"stored": len(batch), "last_seq": last, "unknown_items": unknown[:100],
                "note": (f"{len(unknown)} item(s) are not in run {served.run_id}'s catalog: "
                         "kept for the next training, not used until then") if unknown else ""}

    @app.delete("/users/{user}", tags=["privacy"], dependencies=guarded)
    def forget(user: Annotated[str, Path(max_length=MAX_ID_CHARS)]) -> dict:
        """Delete a shopper's data: their stored events and live events, and the histories
        the service holds (it reloads its run without them)."""
        from recdash.privacy import forget_shopper

        served = state.current
        removed = forget_shopper(ws, served.dataset, user)
        state.reload()
        return {"forgotten": removed, "run": state.current.run_id}

    @app.post("/admin/reload", tags=["service"], dependencies=guarded)
    def reload(body: ReloadIn | None = None) -> dict:
        """Serve another run (or the same one, loaded again), with no request dropped: the
        new run is loaded beside the old one, then swapped in; the other workers follow."""
        before = (state.current.run_id, state.current.dataset)
        served = state.reload(body.run if body else None)
        metrics.serving(served.run_id, served.dataset, before)
        return {"run": served.run_id, "dataset": served.dataset, "was": before[0]}

    return app


class _Unauthorised(Exception):
    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.message, self.fix = message, fix


def _invalid(field: str, error: str, fix: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", field), "msg": error, "type": "value_error",
                                    "fix": fix}])


def _preset(asked: str | None, default: str | None) -> str | None:
    if asked is None:
        return default
    return None if asked.lower() in ("", "none", "off") else asked


def app_from_env() -> FastAPI:
    """The app of one uvicorn worker, configured by `recdash serve` through the environment."""
    from pathlib import Path as FilePath

    from recdash.serve.state import read_run_file
    from recdash.workspace import Workspace

    ws = Workspace(os.environ.get(ENV_WORKSPACE))
    watch = os.environ.get(ENV_WATCH)
    run_id = (read_run_file(FilePath(watch))[0] if watch else None) or os.environ[ENV_RUN]
    app = create_app(ws, run_id, FilePath(watch) if watch else None,
                     os.environ.get(ENV_RERANK) or None, os.environ.get(ENV_SEARCH) != "0")
    import gc

    gc.collect()
    gc.freeze()  # the loaded run's objects leave the collector's scans: steadier latency
    return app
