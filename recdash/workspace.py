"""The workspace: a folder with each dataset as Parquet and a SQLite catalog of datasets, runs and
metrics.

Several processes use it at once (the studio and a training job), so SQLite runs in WAL mode with
short transactions and a busy timeout. Every write is crash-safe: a dataset's tables are written
into a new version folder and fsynced, and one commit points the catalog row at it (see
`recdash.storage`); one import, replace, rename or delete of a name runs at a time (see
`recdash.locks`); what a killed write leaves behind is removed when the workspace next opens. A
failed import leaves the workspace exactly as it was.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pandas as pd

from recdash.data.dataset import Dataset
from recdash.data.report import ValidationReport
from recdash.errors import RecdashError
from recdash.locks import exclusive
from recdash.storage import (confined, dataset_lock_file, fault_point, home_of, new_home,
                             new_version, remove_leftovers, remove_version, stored_folders,
                             write_tables)

ENV_VAR = "RECDASH_WORKSPACE"
DEFAULT_ROOT = "workspace"
# Matched with fullmatch: '$' would also accept a name that ends in a newline.
NAME_RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
             *(f"LPT{i}" for i in range(1, 10))}

_OPENED: set[str] = set()  # workspaces this process has opened (and cleaned) already

_SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    name TEXT PRIMARY KEY, created REAL NOT NULL, folder TEXT NOT NULL,
    stats TEXT NOT NULL, report TEXT NOT NULL, source TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, dataset TEXT NOT NULL, model TEXT NOT NULL, params TEXT NOT NULL,
    protocol TEXT NOT NULL, status TEXT NOT NULL, created REAL NOT NULL, finished REAL,
    message TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, segment TEXT NOT NULL,
    name TEXT NOT NULL, value REAL, PRIMARY KEY (run_id, segment, name));
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, spec TEXT NOT NULL, device TEXT NOT NULL, status TEXT NOT NULL,
    run_id TEXT, created REAL NOT NULL, started REAL, finished REAL, pid INTEGER,
    heartbeat REAL, fraction REAL NOT NULL DEFAULT 0, message TEXT NOT NULL DEFAULT '');
"""


def check_name(name: str) -> str:
    """A dataset name safe to use as a folder name, or a RecdashError saying the rule."""
    if isinstance(name, str) and name.split(".")[0].upper() in _RESERVED:
        raise RecdashError(f"dataset name {name!r} is not allowed: Windows reserves it for a "
                           "device, so its folder could not be copied there; add a word "
                           f"(e.g. '{name}-shop')")
    if not isinstance(name, str) or not NAME_RULE.fullmatch(name):
        raise RecdashError(f"dataset name {name!r} is not allowed: use 1-64 letters, digits, '_', "
                           "'-' or '.', starting with a letter or digit (e.g. 'shop-2024')")
    return name


def suggest_name(text: str) -> str:
    """A valid dataset name derived from free text such as an uploaded file name."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(str(text)).name.split(".")[0]).strip("-_.")
    stem = (stem or "dataset")[:59]
    return stem + "-data" if stem.upper() in _RESERVED else stem


@dataclass(frozen=True)
class DatasetInfo:
    """A row of the workspace's dataset list."""

    name: str
    created: float
    stats: dict
    source: str


def resolve_root(root: str | Path | None = None) -> Path:
    """The workspace folder: the argument, else $RECDASH_WORKSPACE, else ./workspace."""
    return Path(root or os.environ.get(ENV_VAR) or DEFAULT_ROOT)


class Workspace:
    """Datasets, runs and metrics on disk. Cheap to construct; safe to share between processes."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = resolve_root(root)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "datasets").mkdir(exist_ok=True)
        with self.connect() as db:
            db.executescript(_SCHEMA)
        key = str(self.root.resolve())
        if key not in _OPENED:  # once per process: what killed writes left is removed
            _OPENED.add(key)
            self.clean_leftovers()

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection to the catalog (WAL, foreign keys, a 30 s busy timeout), closed after."""
        db = sqlite3.connect(self.root / "catalog.sqlite", timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=30000")
            yield db
        finally:
            db.close()

    # Datasets -------------------------------------------------------------------------------
    def dataset_names(self) -> list[str]:
        with self.connect() as db:
            return [r[0] for r in db.execute("SELECT name FROM datasets ORDER BY created")]

    def datasets(self) -> list[DatasetInfo]:
        with self.connect() as db:
            rows = db.execute("SELECT name, created, stats, source FROM datasets ORDER BY created")
            return [DatasetInfo(n, c, json.loads(s), src) for n, c, s, src in rows]

    def has_dataset(self, name: str) -> bool:
        return name in self.dataset_names()

    def dataset_lock(self, name: str):
        """A context manager holding the lock on dataset `name` (one import, replace, rename or
        delete of a name at a time); raises LockBusy at once when another holds it."""
        check_name(name)
        return exclusive(dataset_lock_file(self.root, name),
                         f"another import or change of dataset '{name}' is running ({{holder}});"
                         " wait for it to finish, then try again")

    def save_dataset(self, ds: Dataset, *, source: str = "", overwrite: bool = False) -> Path:
        """Store a validated dataset atomically; refuses a report with errors.

        The tables go into a new version folder (fsynced); one SQLite commit then points the
        catalog row at it, and only after that is the previous version removed. Killed at any
        moment, the workspace holds either the old dataset or the new one (see
        `recdash.storage`).

        Raises:
            RecdashError: bad name, existing name without overwrite, a report with errors, or
                another import of the same name running (LockBusy).
        """
        check_name(ds.name)
        if not ds.report.ok:
            raise RecdashError(f"dataset '{ds.name}' has validation errors and cannot be stored")
        datasets = self.root / "datasets"
        with self.dataset_lock(ds.name):
            fault_point("locked")
            with self.connect() as db:
                row = db.execute("SELECT folder FROM datasets WHERE name = ?",
                                 (ds.name,)).fetchone()
            if row is not None and not overwrite:
                raise RecdashError(f"a dataset named '{ds.name}' exists; pick another name or "
                                   f"delete it first (recdash datasets --delete {ds.name})")
            old = self._folder(ds.name, row[0]) if row is not None else None
            home = home_of(old) if old is not None else new_home(ds.name)
            folder = new_version(home)
            try:
                write_tables(datasets / folder, ds.interactions, ds.catalog, ds.report.to_json())
                with self.connect() as db:
                    db.execute("BEGIN IMMEDIATE")
                    changed = db.execute(
                        "SELECT folder FROM datasets WHERE name = ?", (ds.name,)).fetchone()
                    if (changed[0] if changed else None) != old:  # cannot happen under the lock
                        db.execute("ROLLBACK")
                        raise RecdashError(f"dataset '{ds.name}' changed while it was written; "
                                           "try again")
                    db.execute("INSERT OR REPLACE INTO datasets VALUES (?, ?, ?, ?, ?, ?)",
                               (ds.name, time.time(), folder, json.dumps(ds.report.stats),
                                ds.report.to_json(), source))
                    fault_point("before commit")
                    db.execute("COMMIT")
            except BaseException:
                shutil.rmtree(datasets / folder, ignore_errors=True)
                if old is None:
                    shutil.rmtree(datasets / home, ignore_errors=True)
                raise
            fault_point("committed")
            if old is not None:
                remove_version(datasets, old)
            fault_point("old version removed")
        return datasets / folder

    def dataset_report(self, name: str) -> ValidationReport:
        """A stored dataset's validation report, read from the catalog without its tables."""
        with self.connect() as db:
            row = db.execute("SELECT report FROM datasets WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise RecdashError(f"no dataset named '{name}' in {self.root}")
        return ValidationReport.from_dict(json.loads(row[0]))

    def load_dataset(self, name: str) -> Dataset:
        """The stored dataset; raises RecdashError naming the stored datasets if unknown."""
        with self.connect() as db:
            row = db.execute("SELECT folder, report FROM datasets WHERE name = ?",
                             (name,)).fetchone()
        if row is None:
            names = ", ".join(self.dataset_names()) or "none yet"
            raise RecdashError(f"no dataset named '{name}' in {self.root} (stored: {names}); "
                               "import it first (recdash import ... --name NAME)")
        folder = self.root / "datasets" / self._folder(name, row[0])
        try:
            events = pd.read_parquet(folder / "interactions.parquet")
            catalog = pd.read_parquet(folder / "catalog.parquet")
        except (OSError, ValueError) as exc:  # pyarrow's errors are OSError/ValueError kinds
            raise RecdashError(f"the stored tables of dataset '{name}' cannot be read "
                               f"({folder}: {exc}); import it again with --replace") from exc
        return Dataset(name, events, catalog, ValidationReport.from_dict(json.loads(row[1])))

    def delete_dataset(self, name: str) -> None:
        """Remove a dataset's files and catalog rows (its runs and metrics too).

        The catalog rows go first, in one transaction; files a kill leaves behind are removed
        when the workspace next opens.
        """
        with self.dataset_lock(name):
            fault_point("locked")
            with self.connect() as db:
                db.execute("BEGIN IMMEDIATE")
                row = db.execute("SELECT folder FROM datasets WHERE name = ?", (name,)).fetchone()
                run_ids = [r[0] for r in db.execute("SELECT id FROM runs WHERE dataset = ?",
                                                    (name,))]
                db.execute("DELETE FROM datasets WHERE name = ?", (name,))
                db.execute("DELETE FROM runs WHERE dataset = ?", (name,))
                fault_point("before commit")
                db.execute("COMMIT")
            fault_point("rows deleted")
            if row is not None and row[0] in stored_folders([(name, row[0])]):
                shutil.rmtree(self.root / "datasets" / home_of(row[0]), ignore_errors=True)
            for run_id in run_ids:
                shutil.rmtree(self.root / "runs" / run_id, ignore_errors=True)

    def ensure_demo(self, progress=None) -> bool:
        """Generate and store the demo shop if the workspace has no dataset named 'demo'.

        Returns True when it was created now.
        """
        from recdash.data.demo import DEMO_NAME, generate_demo_shop
        from recdash.data.dataset import prepare_dataset

        if self.has_dataset(DEMO_NAME):
            return False
        events, catalog = generate_demo_shop(progress=progress)
        ds, report = prepare_dataset(DEMO_NAME, events, catalog,
                                     interactions_name="demo-events.csv",
                                     catalog_name="demo-catalog.csv")
        if ds is None:  # a generator bug, not user input
            raise RecdashError("the demo shop failed validation:\n" + report.format())
        try:
            self.save_dataset(ds, source="built-in demo shop")
        except RecdashError:
            if not self.has_dataset(DEMO_NAME):  # another process may have stored it first
                raise
            return False
        return True

    # Runs and metrics -----------------------------------------------------------------------
    def create_run(self, dataset: str, model: str, params: dict, protocol: dict) -> str:
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{model}-{uuid.uuid4().hex[:6]}"
        with self.connect() as db:
            db.execute("INSERT INTO runs (id, dataset, model, params, protocol, status, created)"
                       " VALUES (?, ?, ?, ?, ?, 'running', ?)",
                       (run_id, dataset, model, json.dumps(params), json.dumps(protocol),
                        time.time()))
        return run_id

    def dataset_dir(self, name: str) -> Path:
        """The home folder of a stored dataset, where its caches (e.g. text embeddings) live;
        it stays the same when the dataset is replaced or renamed.

        Raises:
            RecdashError: no dataset of that name.
        """
        check_name(name)
        with self.connect() as db:
            row = db.execute("SELECT folder FROM datasets WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise RecdashError(f"no dataset named '{name}' in {self.root}")
        return self.root / "datasets" / home_of(self._folder(name, row[0]))

    @staticmethod
    def _folder(name: str, folder: object) -> str:
        try:
            return confined(folder, name)
        except ValueError as exc:
            raise RecdashError(str(exc)) from None

    def run_dir(self, run_id: str) -> Path:
        """The folder of a run's files (checkpoints, training history); created on demand."""
        if not NAME_RULE.fullmatch(run_id):
            raise RecdashError(f"run id {run_id!r} is not valid")
        path = self.root / "runs" / run_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def set_run_params(self, run_id: str, params: dict) -> None:
        with self.connect() as db:
            db.execute("UPDATE runs SET params = ? WHERE id = ?", (json.dumps(params), run_id))

    def set_run_protocol(self, run_id: str, protocol: dict) -> None:
        with self.connect() as db:
            db.execute("UPDATE runs SET protocol = ? WHERE id = ?", (json.dumps(protocol), run_id))

    def finish_run(self, run_id: str, metrics: dict[str, dict[str, float]],
                   status: str = "finished", message: str = "") -> None:
        """Record a run's end and its metrics ({segment: {metric: value}}) in one transaction."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT OR REPLACE INTO metrics VALUES (?, ?, ?, ?)",
                           [(run_id, seg, k, float(v)) for seg, vals in metrics.items()
                            for k, v in vals.items()])
            db.execute("UPDATE runs SET status = ?, finished = ?, message = ? WHERE id = ?",
                       (status, time.time(), message, run_id))
            db.execute("COMMIT")

    def runs(self, dataset: str | None = None) -> pd.DataFrame:
        query = "SELECT * FROM runs" + (" WHERE dataset = ?" if dataset else "") + \
            " ORDER BY created"
        with self.connect() as db:
            return pd.read_sql_query(query, db, params=(dataset,) if dataset else ())

    def metrics(self, run_id: str) -> dict[str, dict[str, float]]:
        with self.connect() as db:
            rows = db.execute("SELECT segment, name, value FROM metrics WHERE run_id = ?",
                              (run_id,)).fetchall()
        out: dict[str, dict[str, float]] = {}
        for seg, name, value in rows:
            out.setdefault(seg, {})[name] = value
        return out

    def end_run(self, run_id: str, status: str, message: str, was: str = "running") -> bool:
        """Set a run's final status and message if its status is still `was` (by default: a
        run whose process ended without closing it).

        Returns whether the run changed.
        """
        with self.connect() as db:
            cur = db.execute("UPDATE runs SET status = ?, finished = ?, message = ? "
                             "WHERE id = ? AND status = ?",
                             (status, time.time(), message, run_id, was))
            return cur.rowcount > 0

    def reopen_run(self, run_id: str) -> bool:
        """Mark a failed or cancelled run as running again (it is being resumed).

        Returns whether it was failed or cancelled (False: unknown, running or finished).
        """
        with self.connect() as db:
            cur = db.execute("UPDATE runs SET status = 'running', finished = NULL, message = "
                             "'resumed from its last checkpoint' WHERE id = ? AND status IN "
                             "('failed', 'cancelled')", (run_id,))
            return cur.rowcount > 0

    def rename_dataset(self, old: str, new: str) -> None:
        """Rename a stored dataset: its catalog row, and the runs and jobs that use it.

        One transaction: other processes see the old name everywhere or the new one, and a kill
        leaves one of the two. The folder keeps its name (it is the dataset's home, not its
        name), so no file moves.

        Raises:
            RecdashError: `new` is not a valid name or is taken, `old` is unknown, another
                import or change of either name is running, or a job is training on `old`
                right now (wait for it, or cancel it, and try again).
        """
        check_name(old)
        check_name(new)
        if new == old:
            return
        with self.dataset_lock(old), self.dataset_lock(new), self.connect() as db:
            fault_point("locked")
            db.execute("BEGIN IMMEDIATE")
            try:
                if db.execute("SELECT 1 FROM datasets WHERE name = ?", (old,)).fetchone() is None:
                    raise RecdashError(f"no dataset named '{old}' in {self.root}")
                if db.execute("SELECT 1 FROM datasets WHERE name = ?", (new,)).fetchone():
                    raise RecdashError(f"a dataset named '{new}' exists; pick another name")
                running = db.execute("SELECT COUNT(*) FROM jobs WHERE status = 'running' AND "
                                     "json_extract(spec, '$.dataset') = ?", (old,)).fetchone()[0]
                if running:
                    raise RecdashError(f"a training job is running on '{old}'; wait for it to "
                                       "end (or cancel it) before renaming the dataset")
                db.execute("UPDATE datasets SET name = ? WHERE name = ?", (new, old))
                db.execute("UPDATE runs SET dataset = ? WHERE dataset = ?", (new, old))
                db.execute("UPDATE jobs SET spec = json_set(spec, '$.dataset', ?) "
                           "WHERE json_extract(spec, '$.dataset') = ?", (new, old))
                fault_point("before commit")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            fault_point("committed")

    # Leftovers of killed writes -------------------------------------------------------------
    def clean_leftovers(self) -> list[str]:
        """Remove what killed writes left in the workspace (see `recdash.storage.leftovers`),
        skipping anything a running import holds the lock of.

        Returns:
            The removed paths, relative to the workspace.
        """
        return remove_leftovers(self.root, self._rows)

    def _rows(self) -> list[tuple[str, str]]:
        """The (name, folder) row of every stored dataset."""
        with self.connect() as db:
            return db.execute("SELECT name, folder FROM datasets").fetchall()

    def _folders(self) -> dict[str, str]:
        """catalog folder -> dataset name, for the rows whose folder is inside the workspace."""
        return stored_folders(self._rows())
