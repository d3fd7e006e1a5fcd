"""What one API worker serves: a loaded run, its shoppers' live events, and the swap to a newly
trained run without dropping a request.

`Served` is one finished run made ready to answer (the serving path's `Service`, and, built
on first use, its re-ranking context and searcher); it never changes once built. `ServingState`
holds the current `Served` and replaces it whole: a reload builds the new one beside the old,
then swaps one reference, so a request that started on the old run finishes on it. Which run a
service serves is written in a small JSON file (`serve/run-PORT.json` in the workspace); every
worker of the service checks it at most once a second and follows a change in the background,
so `POST /admin/reload` on any worker (or an edit of the file) moves them all.

A shopper's history, for every answer, is their stored history (the run's dataset) followed by
their live events from the dataset's `EventLog`, so a posted event shapes the next answer at
once, whichever worker serves it, without retraining.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from recdash.data import schema as S
from recdash.errors import RecdashError
from recdash.recommend import History, Service, check_k
from recdash.serve.events import Event, EventLog, folded_upto

WATCH_EVERY_S = 1.0
EVENT_NAMES = np.asarray(S.EVENT_TYPES, dtype=object)


class NotFound(RecdashError):
    """A named thing (an item, a preset) does not exist: the API answers 404."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class Unavailable(RecdashError):
    """The service was started without what the request needs: the API answers 503."""


def run_file(root: Path, port: int) -> Path:
    """The file naming the run that the service on `port` serves."""
    return Path(root) / "serve" / f"run-{int(port)}.json"


def write_run_file(path: Path, run_id: str) -> None:
    """Point the service at `run_id`, atomically (a reader sees the old run or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".run-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"run": run_id, "written": time.time()}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_run_file(path: Path) -> tuple[str | None, float]:
    """(the run the file names, when it was written), or (None, 0) without a readable file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return str(raw["run"]), float(raw.get("written", 0))
    except (OSError, ValueError, KeyError, TypeError):
        return None, 0.0


@dataclass
class Served:
    """One finished run, ready to answer.

    Attributes:
        ws: the workspace.
        run_id: the run.
        service: its serving path (model, dataset, stored histories).
        events: its dataset's live event log.
        key: the dataset's pseudonym key, or None when shopper IDs are stored as given.
        loaded_at: when it was loaded (time.time()).
    """

    ws: object
    run_id: str
    service: Service
    events: EventLog
    key: bytes | None = None
    search: bool = True
    folded: int = 0  # the log's events up to this seq are in the dataset's stored histories
    loaded_at: float = field(default_factory=time.time)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _context: object = field(default=None, repr=False)
    _searcher: object = field(default=None, repr=False)

    @classmethod
    def load(cls, ws, run_id: str, warm: bool = True, search: bool = True) -> "Served":
        """Load a finished run of the workspace (raises RecdashError for any other); with
        `warm`, also its re-ranking context and its searcher (the search index, built and
        cached on the first load, and the query encoder), so that no shopper's request pays
        for them."""
        from recdash import privacy
        from recdash.runs.load import load_run

        service = load_run(ws, run_id)
        name = service.dataset.name
        key = privacy.pseudonym_key(ws) if privacy.is_pseudonymised(ws, name) else None
        served = cls(ws, run_id, service, EventLog.of(ws, name), key, search=search,
                     folded=folded_upto(service.dataset.report))
        if warm:
            served.context()
            if search:
                served.searcher()
        return served

    @property
    def dataset(self) -> str:
        return self.service.dataset.name

    # Shoppers -------------------------------------------------------------------------------
    def shopper(self, user: str) -> str:
        """The ID the dataset stores for `user`: its pseudonym where the dataset keeps them."""
        if self.key is None:
            return user
        from recdash.privacy import pseudonym_of

        return user if self.service.knows(user) else pseudonym_of(user, self.key)

    def history(self, user: str) -> tuple[History, int]:
        """A shopper's (or session's) stored history and then their live events, in the run's
        terms, and how many live events it holds."""
        stored = self.service.history_of(user)
        live = self.events.of_user(user, after=self.folded)
        if not live:
            return stored, 0
        items, types, times = zip(*live)
        fresh, _ = self.service.encode(list(items), list(types),
                                       pd.to_datetime(list(times), unit="s", utc=True).tolist())
        return History(np.concatenate([stored.items, fresh.items]),
                       np.concatenate([stored.events, fresh.events]),
                       np.concatenate([stored.times, fresh.times])), len(fresh)

    def history_frame(self, history: History) -> pd.DataFrame:
        """A history in the shop's terms (item_id, event_type, timestamp), as explanations
        take it."""
        return pd.DataFrame({
            S.ITEM: self.service.items[history.items],
            S.EVENT: EVENT_NAMES[history.events],
            S.TIME: pd.to_datetime(history.times, unit="s", utc=True)})

    def record(self, events: list[Event]) -> int:
        """Store live events (their shopper IDs pseudonymised where the dataset is); returns
        the last one's sequence number."""
        if self.key is not None:
            from recdash.privacy import pseudonym_of

            events = [Event(pseudonym_of(e.user_id, self.key), e.item_id, e.event_type,
                            e.timestamp) for e in events]
        return self.events.append(events)

    # Answers --------------------------------------------------------------------------------
    def context(self):
        """The run's re-ranking context (item similarities, categories), built once."""
        with self._lock:
            if self._context is None:
                from recdash.rerank.run import run_context

                self._context = run_context(self.service, self.ws)
            return self._context

    def rerank_step(self, preset: str | None, k: int):
        """The re-ranking step of a stored diversity preset, or None without one."""
        if not preset:
            return None
        from dataclasses import replace

        from recdash.rerank.presets import load_presets
        from recdash.rerank.run import reranker

        presets = load_presets(self.ws)
        if preset not in presets:
            have = ", ".join(sorted(presets)) or "none yet (save one on the Diversity page)"
            raise NotFound(f"no re-ranking preset named '{preset}'; stored presets: {have}",
                           "rerank")
        return reranker(replace(presets[preset], k=k), self.context())

    def recommend(self, history: History, key: str, k: int, preset: str | None = None,
                  exclude_seen: bool | None = None) -> list[dict]:
        """The top-k list after `history`, as JSON-ready rows."""
        return self.recommend_many([history], k, preset, exclude_seen)[0]

    def recommend_many(self, histories: list[History], k: int, preset: str | None = None,
                       exclude_seen: bool | None = None) -> list[list[dict]]:
        """The top-k lists after several histories, scored as one batch through the serving
        path, each as JSON-ready rows."""
        recs = self.service.recommend(histories, list(range(len(histories))), check_k(k),
                                      exclude_seen, self.rerank_step(preset, k))
        rows = records(recs)
        counts = np.bincount(recs[S.USER].to_numpy(dtype=np.int64), minlength=len(histories))
        out, at = [], 0
        for n in counts.tolist():
            out.append([{c: v for c, v in row.items() if c != S.USER}
                        for row in rows[at:at + n]])
            at += n
        return out

    def encode(self, items: list[str], types: list[str] | None,
               times: list[object] | None) -> tuple[History, list[str]]:
        """A given history in the run's terms, and the item IDs the run does not know."""
        history, kept = self.service.encode(items, types, times)
        return history, [i for i, ok in zip(items, kept) if not ok]

    def item_code(self, item: str, field_name: str = "item") -> int:
        code = int(self.service.model.codes_of([item])[0])
        if code < 0:
            raise NotFound(f"item '{item}' is not in run {self.run_id}'s catalog. Fix: use an "
                           "item ID of the dataset's catalog", field_name)
        return code

    def similar(self, item: str, k: int) -> tuple[str, list[dict]]:
        """(the similarity used, the k items most like `item`), by the run's item vectors
        where it has them, else the catalog text's, else the category."""
        from recdash.rerank.setting import most_similar

        code = self.item_code(item, "item_id")
        source, rows, sims = most_similar(self.context().items, code, check_k(k))
        details = self.service.details.take(rows).reset_index(drop=True)
        frame = pd.concat([pd.DataFrame({"rank": np.arange(1, len(rows) + 1),
                                         S.ITEM: self.service.items[rows],
                                         "similarity": sims}), details], axis=1)
        return source, records(frame)

    def searcher(self):
        """The dataset's searcher, personalised by this run, opened once.

        Raises:
            RecdashError: the service was started without search.
        """
        if not self.search:
            raise Unavailable("search is off on this service (started with --no-search). "
                               "Fix: start it without --no-search")
        with self._lock:
            if self._searcher is None:
                from recdash.search.api import open_searcher

                self._searcher = open_searcher(self.ws, self.dataset, self.run_id).searcher
            return self._searcher

    def explain(self, user: str, item: str, k: int = 10) -> dict:
        """Why `item` is recommended to `user`: the reason line, SHAP values of their events
        and of the item's signals, and the counterfactual."""
        from recdash.explain.summary import explain_recommendation

        self.item_code(item)
        history, _ = self.history(user)
        if not len(history):
            raise RecdashError(f"shopper '{user}' has no events the run knows: there is nothing "
                               "to explain (they get the most popular items)")
        why = explain_recommendation(self.service, self.history_frame(history), item, k=k)
        out = {"item_id": item, "title": why.title, "reason": why.reason,
               "base_value": float(why.shap.base_values),
               "history": [{"item_id": d, "name": str(n), "shap": float(v)} for d, n, v in
                           zip(why.shap.data.tolist(), why.shap.feature_names.tolist(),
                               why.shap.values.tolist())]}
        if why.item_shap is not None:
            out["item_signals"] = {str(n): float(v) for n, v in
                                   zip(why.item_shap.feature_names.tolist(),
                                       why.item_shap.values.tolist())}
        cf = why.counterfactual
        if cf is not None:
            frame = why.history
            out["counterfactual"] = {
                "found": bool(cf.found), "k": cf.k, "rank_before": int(cf.rank_before),
                "rank_after": None if not cf.found else float(cf.rank_after),
                "remove": [str(frame[S.ITEM].iat[p]) for p in cf.removed]}
        return out


def records(frame: pd.DataFrame, columns: list[str] | None = None) -> list[dict]:
    """Rows as JSON-ready dicts (of `columns`, default all): missing values as null, numpy
    scalars as Python ones. Column by column: pandas' own `to_dict` after `where` costs
    milliseconds on a ten-row list."""
    columns = list(frame.columns) if columns is None else columns
    values = [[None if _missing(v) else v for v in frame[c].tolist()] for c in columns]
    return [dict(zip(columns, row)) for row in zip(*values)]


def _missing(value) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or \
        (isinstance(value, float) and value != value)


class ServingState:
    """The run a worker serves, swapped whole on reload.

    Args:
        ws: the workspace.
        run_id: the run to serve first.
        watch: the run file the service's workers share (None: no following).
        log: where reload news is written (default stderr).
    """

    def __init__(self, ws, run_id: str, watch: Path | None = None, log=None,
                 search: bool = True) -> None:
        self.ws = ws
        self.watch = watch
        self.log = log or (lambda msg: print(f"recdash serve: {msg}", file=sys.stderr,
                                             flush=True))
        self.started = time.time()
        self.search = search  # False: a service of recommendations only (no search index)
        self.current = Served.load(ws, run_id, search=search)
        self._reload_lock = threading.Lock()
        self._checked = time.monotonic()
        self._seen = read_run_file(watch) if watch is not None else (None, 0.0)
        self._loading = False

    def reload(self, run_id: str | None = None) -> Served:
        """Load `run_id` (default: the one served, e.g. after new training data) and swap it
        in; requests keep being answered by the old run until the swap.

        Raises:
            RecdashError: the run cannot be served (unknown, unfinished); the old one stays.
        """
        with self._reload_lock:
            fresh = Served.load(self.ws, run_id or self.current.run_id, search=self.search)
            old, self.current = self.current, fresh
            if self.watch is not None:
                write_run_file(self.watch, fresh.run_id)
                self._seen = read_run_file(self.watch)
            self.log(f"now serving run {fresh.run_id} (was {old.run_id})")
            return fresh

    def follow(self) -> None:
        """Start loading the run the shared run file names, if another worker rewrote it (a
        new run, or the same one reloaded after a shopper's data was deleted); checked at most
        every WATCH_EVERY_S, loaded in the background while the old run keeps answering."""
        if self.watch is None or self._loading or \
                time.monotonic() - self._checked < WATCH_EVERY_S:
            return
        self._checked = time.monotonic()
        seen = read_run_file(self.watch)
        if seen[0] is None or seen == self._seen:
            return
        self._loading = True

        def load() -> None:
            try:
                with self._reload_lock:
                    if read_run_file(self.watch) == seen:  # nobody reloaded meanwhile
                        self.current = Served.load(self.ws, seen[0], search=self.search)
                        self.log(f"now serving run {seen[0]} (followed {self.watch.name})")
            except RecdashError as err:
                self.log(f"could not follow run {seen[0]}: {err}")
            finally:
                self._seen = seen
                self._loading = False

        threading.Thread(target=load, name="recdash-follow", daemon=True).start()
