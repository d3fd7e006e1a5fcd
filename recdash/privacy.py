"""Shoppers' privacy: pseudonymous shopper IDs, and forgetting a shopper on request.

An import can replace every shopper ID with a keyed hash (HMAC-SHA256, RFC 2104, under a secret
key kept in the workspace, truncated to 80 bits: the keyed-hash pseudonymisation that the EDPB's
guidelines 01/2025 on pseudonymisation describe). The mapping is deterministic, so the shop
keeps sending its own IDs and the server maps them the same way, but without the key nobody can
go from a pseudonym back to a customer, nor test a guessed ID. The dataset's report records
whether it is pseudonymised (`stats["pseudonymised"]`). `forget_shopper` deletes one shopper's
events from the stored dataset and from its live event log (the right to erasure), leaving no
copy in the workspace's SQLite files either.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import pandas as pd

from recdash.data import schema as S
from recdash.data.dataset import Dataset
from recdash.data.report import Finding, ValidationReport
from recdash.data.sessions import SESSION_SEP
from recdash.data.validation import summary_stats
from recdash.errors import RecdashError

KEY_BYTES = 32
PREFIX = "p_"
HEX_CHARS = 20  # 80 bits: no collision among a billion shoppers in practice
STAT = "pseudonymised"  # the report's stats key
FORGOTTEN = "shoppers_forgotten"  # the report's finding after `forget_shopper`


def key_path(ws) -> Path:
    """Where a workspace keeps its pseudonym key."""
    return ws.root / "secrets" / "pseudonym.key"


def pseudonym_key(ws, create: bool = True) -> bytes:
    """The workspace's secret key for pseudonyms, made on first use.

    The key is written to a temporary file in the same folder, fsynced, and hard-linked to its
    name, which fails when the name exists: two processes making it at once end up reading the
    same key, never a half-written one.

    Args:
        ws: the Workspace.
        create: make the key when the workspace has none (False: raise instead).

    Returns:
        KEY_BYTES bytes.

    Raises:
        RecdashError: the key file is damaged, or missing while `create` is False.
    """
    path = key_path(ws)
    if not path.exists():
        if not create:
            raise RecdashError(f"the workspace has no pseudonym key ({path}); restore it from a "
                               "backup, or give the shopper's pseudonym (p_...) itself")
        _make_key(path)
    data = path.read_bytes()
    if len(data) != KEY_BYTES:
        raise RecdashError(f"the pseudonym key {path} is damaged ({len(data)} bytes, not "
                           f"{KEY_BYTES}). Fix: restore it from a backup; deleting it makes a new "
                           "key, with which new events no longer match the stored pseudonyms "
                           "(then import the data again with --pseudonymise)")
    return data


def _make_key(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    key = secrets.token_bytes(KEY_BYTES)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pseudonym-", suffix=".tmp")  # mode 0o600
    try:
        os.write(fd, key)
        os.fsync(fd)
        os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it meanwhile: use theirs
        except OSError:  # a file system without hard links: create the name exclusively
            _write_new(path, key)
    finally:
        os.unlink(tmp)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the new name survives a power cut
    finally:
        os.close(dir_fd)


def _write_new(path: Path, key: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)


def pseudonym_of(user_id: object, key: bytes) -> str:
    """One shopper ID's pseudonym: "p_" and 20 hex digits of HMAC-SHA256(key, ID)."""
    digest = hmac.new(key, str(user_id).encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:HEX_CHARS]


def pseudonymise(ids: Iterable[object], key: bytes) -> list[str]:
    """The pseudonyms of many IDs, in order (each distinct ID is hashed once)."""
    seen: dict[object, str] = {}
    return [seen[i] if i in seen else seen.setdefault(i, pseudonym_of(i, key)) for i in ids]


def is_pseudonymised(ws, dataset: str) -> bool:
    """Whether a stored dataset's shopper IDs are pseudonyms (read from its report)."""
    return bool(ws.dataset_report(dataset).stats.get(STAT, False))


def _cut(report: ValidationReport) -> bool:
    """Whether the import cut shoppers' events into sessions ("<shopper>#<n>" IDs)."""
    return "sessions_cut" in report.codes()


def _map_examples(report: ValidationReport, change: Callable[[str], str | None]) -> None:
    """Apply `change` to every shopper ID quoted in the report's example rows; an example whose
    ID it maps to None is left out."""
    for i, finding in enumerate(report.findings):
        keys = (S.USER, "now") if finding.column == S.USER else (S.USER,)
        if not any(k in ex for ex in finding.examples for k in keys):
            continue
        examples = []
        for ex in finding.examples:
            ex = dict(ex)
            for k in keys:
                if ex.get(k) is not None:
                    ex[k] = change(str(ex[k]))
                    if ex[k] is None:
                        break
            else:
                examples.append(ex)
        report.findings[i] = replace(finding, examples=tuple(examples))


def pseudonymise_dataset(ds: Dataset, key: bytes) -> Dataset:
    """A dataset with every shopper ID replaced by its pseudonym, in the events and in the
    report's example rows, and the report saying so.

    Sessions cut by the import ("<shopper>#<n>") keep their number, so that a shopper's
    sessions share the shopper's pseudonym.
    """
    users = ds.interactions[S.USER].astype("string")
    if _cut(ds.report):
        parts = users.str.rsplit(SESSION_SEP, n=1, expand=True)
        ids = [f"{p}{SESSION_SEP}{n}" for p, n in zip(pseudonymise(parts[0], key), parts[1])]
    else:
        ids = pseudonymise(users, key)
    events = ds.interactions.copy()
    events[S.USER] = pd.array(ids, dtype="string")
    report = ValidationReport(list(ds.report.findings), dict(ds.report.columns),
                              {**ds.report.stats, STAT: True})
    _map_examples(report, lambda value: pseudonym_of(value, key))
    for i, finding in enumerate(report.findings):
        if finding.code == "email_user_ids":  # its message says they are stored as they are
            report.findings[i] = replace(finding, severity="info", fix="", message=(
                f"{finding.count:,} {S.USER} value(s) were e-mail addresses; they were "
                "pseudonymised like every shopper ID"))
    return Dataset(ds.name, events, ds.catalog, report)


def for_storage(ws, ds: Dataset, pseudonymise: bool) -> Dataset:
    """The dataset an import stores: its shopper IDs pseudonymised with the workspace's key
    when asked, and its report saying whether they are."""
    if pseudonymise:
        return pseudonymise_dataset(ds, pseudonym_key(ws))
    ds.report.stats[STAT] = False
    return ds


def _shopper_ids(ws, user: str, pseudonymised: bool) -> list[str]:
    """The IDs a shopper may be stored under, the likeliest first: for a pseudonymised dataset
    the pseudonym of what was given, and what was given (it may be the pseudonym)."""
    if not pseudonymised or (user.startswith(PREFIX) and not key_path(ws).exists()):
        return [user]
    mine = pseudonym_of(user, pseudonym_key(ws, create=False))
    return [user, mine] if user.startswith(PREFIX) else [mine, user]


def _matches(ids: pd.Series, candidates: list[str], cut: bool) -> pd.Series:
    ids = ids.astype("string")
    hit = ids.isin(candidates)
    if cut:
        hit |= ids.str.rsplit(SESSION_SEP, n=1).str[0].isin(candidates)
    return hit.fillna(False).astype(bool)


def forget_shopper(ws, dataset: str, user: str) -> dict:
    """Delete every event of one shopper: from the stored dataset (a new version, written
    crash-safely), from its live event log, and from the report's example rows; then compact the
    SQLite files so that no deleted page keeps a copy.

    Args:
        ws: the Workspace.
        dataset: the dataset's name.
        user: the shopper's ID as the shop knows it, or, for a pseudonymised dataset, its
            pseudonym (p_...).

    Returns:
        {"dataset_events": events deleted from the dataset, "logged_events": from the event
        log, "user": the ID it was stored under, "compacted": whether the SQLite files were
        compacted (False: another process kept them busy; the next compaction completes it)}.

    Raises:
        RecdashError: no such dataset, a shopper with no events anywhere, or one whose events
            are all the dataset has.
    """
    from recdash.serve.events import FILE

    user = str(user).strip()
    if not user:
        raise RecdashError("give the shopper's ID (--user)")
    with ws.dataset_lock(dataset):
        ds = ws.load_dataset(dataset)
        cut = _cut(ds.report)
        candidates = _shopper_ids(ws, user, bool(ds.report.stats.get(STAT)))
        hit = _matches(ds.interactions[S.USER], candidates, cut)
        n = int(hit.sum())
        stored = candidates[0]
        if n and n == len(hit):
            raise RecdashError(f"every event of dataset '{dataset}' belongs to this shopper; "
                               "nothing would be left: delete the dataset instead (recdash "
                               f"datasets --delete {dataset})")
        if n:
            first = str(ds.interactions.loc[hit, S.USER].iloc[0])
            stored = first.rsplit(SESSION_SEP, 1)[0] if first not in candidates else first
            source = next((d.source for d in ws.datasets() if d.name == dataset), "")
            ws.save_dataset(_without(ds, hit, candidates, cut), source=source, overwrite=True)
        log = ws.dataset_dir(dataset) / FILE
        logged = _forget_logged(log, candidates, cut) if log.exists() else 0  # (opening makes one)
        if not n and not logged:
            also = " (looked for it as given and as its pseudonym)" if len(candidates) > 1 else ""
            raise RecdashError(f"no events of shopper {user!r} in dataset '{dataset}' or its "
                               f"event log{also}; check the ID")
        compacted = all([_compact(ws.root / "catalog.sqlite"), not log.exists() or _compact(log)])
    return {"dataset_events": n, "logged_events": logged, "user": stored, "compacted": compacted}


def _forget_logged(path: Path, candidates: list[str], cut: bool) -> int:
    """Delete the shopper's events from the event log at `path`; returns how many."""
    from recdash.serve.events import EventLog

    log = EventLog(path.parent)
    try:
        ids = list(candidates)
        if cut:  # the shop may log the sessions it cut ("<shopper>#<n>")
            frame = log.frame()
            ids += frame.loc[_matches(frame[S.USER], candidates, cut), S.USER].unique().tolist()
        return log.delete_users(dict.fromkeys(ids))
    finally:
        log.close()


def _without(ds: Dataset, hit: pd.Series, candidates: list[str], cut: bool) -> Dataset:
    """The dataset less the shopper's events, its counts recomputed, and no example row of
    the report naming the shopper."""
    events = ds.interactions[~hit].reset_index(drop=True)
    report = ValidationReport(list(ds.report.findings), dict(ds.report.columns),
                              {**ds.report.stats, **summary_stats(events, ds.catalog)})
    _map_examples(report, lambda value: None if _matches(pd.Series([value]), candidates, cut)
                  .iloc[0] else value)
    before = next((f.count for f in report.findings if f.code == FORGOTTEN), 0)
    report.findings = [f for f in report.findings if f.code != FORGOTTEN]
    report.add(Finding("info", FORGOTTEN, f"the events of {before + 1:,} shopper(s) were "
                       "deleted on request; the counts of the findings above are from the "
                       "import", count=before + 1))
    return Dataset(ds.name, events, ds.catalog, report)


def _compact(path: Path) -> bool:
    """Rewrite an SQLite file without its free pages, and empty its write-ahead log, so that
    deleted rows leave no copy on disk. Returns False when other connections kept it busy."""
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        db.execute("PRAGMA busy_timeout=30000")
        db.execute("VACUUM")
        busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    except sqlite3.OperationalError:  # locked past the timeout
        return False
    finally:
        db.close()
    return busy == 0
