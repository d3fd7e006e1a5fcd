"""Crash-safe files for the workspace: durable writes, atomic replacement, and the dataset folders'
layout.

A stored dataset lives in a *home* folder, `datasets/<home>/`, that keeps its caches (text
embeddings) across replacements, and each stored version of its tables in a version folder
`datasets/<home>/v-<hex>/`. The catalog row names the version folder, so the one atomic step of
a write or a replace is the SQLite commit that points the row at a complete, fsynced folder:
killed before it, the workspace still has the old version; killed after it, the new one. What a
killed write leaves behind (a version folder no row names, a home without a row) is found by
`leftovers` and removed by `remove_leftovers` when the workspace next opens, under the lock of
the dataset it belongs to (`recdash.locks`). Homes are named `<name>.<8 hex>` when the
dataset is created and keep that name when it is renamed (a rename is a catalog update only).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from recdash.locks import release, try_lock

VERSION_PREFIX = "v-"
# What a catalog row's `folder` may hold: a home (a dataset name, maybe + "." + 8 hex digits),
# optionally with a version folder. Anything else (an absolute path, "..") is never followed.
_FOLDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,72}(/v-[0-9a-f]{12})?")
TABLE_FILES = ("interactions.parquet", "catalog.parquet", "report.json")


def fault_point(step: str) -> None:
    """Called at each step of a dataset write; the fault-injection tests kill the process here."""


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    """Make a folder's entries (new, renamed or removed files) durable."""
    _fsync(folder)


def write_durably(path: Path, write: Callable[[Path], None]) -> None:
    """Write a file with `write(path)` and flush it to the disk before returning."""
    write(path)
    _fsync(path)


def write_tables(folder: Path, interactions: pd.DataFrame, catalog: pd.DataFrame,
                 report_json: str) -> None:
    """Write a dataset's tables into a new version folder, every file and the folder fsynced."""
    folder.mkdir(parents=True)
    fault_point("folder created")
    write_durably(folder / "interactions.parquet",
                  lambda p: interactions.to_parquet(p, index=False))
    fault_point("interactions written")
    write_durably(folder / "catalog.parquet", lambda p: catalog.to_parquet(p, index=False))
    fault_point("catalog written")
    write_durably(folder / "report.json", lambda p: p.write_text(report_json, encoding="utf-8"))
    fsync_dir(folder)
    fsync_dir(folder.parent)
    fault_point("tables durable")


def new_home(name: str) -> str:
    """A home folder name for a new dataset (unique: a name never ends in '.' + 8 hex digits
    of another dataset's home by chance, and the folder is created exclusively)."""
    return f"{name}.{uuid.uuid4().hex[:8]}"


def new_version(home: str) -> str:
    """The catalog's `folder` value of a new version of the dataset at `home`."""
    return f"{home}/{VERSION_PREFIX}{uuid.uuid4().hex[:12]}"


def confined(folder: object, name: str) -> str:
    """A catalog row's `folder` value, checked to stay inside the workspace's datasets folder.

    Raises:
        ValueError: the value names a path elsewhere (a damaged or tampered catalog).
    """
    if not isinstance(folder, str) or not _FOLDER.fullmatch(folder) or ".." in folder:
        raise ValueError(f"the workspace catalog says dataset '{name}' is stored at {folder!r}, "
                         "which is not a folder of the workspace's datasets; the catalog is "
                         "damaged: delete the dataset (recdash datasets --delete) and import it "
                         "again")
    return folder


def home_of(folder: str) -> str:
    """The home folder of a catalog `folder` value (earlier workspaces stored the tables in the
    home itself, named after the dataset)."""
    return folder.split("/", 1)[0]


def remove_version(datasets: Path, folder: str) -> None:
    """Delete one stored version (a version folder, or an earlier workspace's tables in the
    home itself, keeping its caches)."""
    path = datasets / folder
    if "/" in folder:
        shutil.rmtree(path, ignore_errors=True)
        return
    for name in TABLE_FILES:
        (path / name).unlink(missing_ok=True)


def owner_guess(home: str) -> str:
    """The dataset name a home folder was created for (to lock it before cleaning it)."""
    stem, _, tail = home.rpartition(".")
    is_hex = len(tail) == 8 and all(c in "0123456789abcdef" for c in tail)
    return stem if stem and is_hex else home


def leftovers(datasets: Path, folders: dict[str, str]) -> list[tuple[str, Path]]:
    """What killed writes left under `datasets/`, with the dataset name to lock before removal.

    Args:
        datasets: the workspace's datasets folder.
        folders: catalog `folder` value -> dataset name, for every stored dataset.

    Returns:
        (dataset name, path) pairs: homes no row names, version folders and temporary folders
        inside a home that no row names, and temporary folders of earlier versions.
    """
    homes: dict[str, str] = {home_of(f): n for f, n in folders.items()}
    found: list[tuple[str, Path]] = []
    if not datasets.is_dir():
        return found
    for entry in sorted(datasets.iterdir()):
        if not entry.is_dir():
            continue
        if entry.name.startswith((".tmp-", ".old-")):  # earlier versions' temporary folders
            found.append(("", entry))
        elif entry.name not in homes:
            found.append((owner_guess(entry.name), entry))
        else:
            for sub in entry.iterdir():
                if sub.is_dir() and sub.name.startswith((VERSION_PREFIX, ".tmp-")) and \
                        f"{entry.name}/{sub.name}" not in folders:
                    found.append((homes[entry.name], sub))
    return found


def dataset_lock_file(root: Path, name: str) -> Path:
    """The lock file of dataset `name` in the workspace at `root` (see `recdash.locks`)."""
    return root / "locks" / f"dataset-{name}.lock"


def stored_folders(rows: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Catalog `folder` value -> dataset name, for the (name, folder) rows whose folder is
    inside the workspace (see `confined`); the other rows are left out, never followed."""
    out = {}
    for name, folder in rows:
        try:
            out[confined(folder, name)] = name
        except ValueError:
            continue  # never followed; loading that dataset says the catalog is damaged
    return out


def remove_leftovers(root: Path, read_rows: Callable[[], list[tuple[str, str]]]) -> list[str]:
    """Remove what killed writes left in the workspace at `root` (see `leftovers`), skipping
    anything a running import holds the lock of.

    Args:
        root: the workspace folder.
        read_rows: reads the catalog's (name, folder) row of every dataset; called again for
            each leftover once its dataset's lock is held.

    Returns:
        The removed paths, relative to the workspace.
    """
    datasets = root / "datasets"
    removed = []
    rows = read_rows()
    folders = stored_folders(rows)
    damaged = {name for name, _ in rows} - set(folders.values())
    for name, path in leftovers(datasets, folders):
        if name in damaged:
            continue  # its row is damaged: keep its files for a person to look at
        fd = try_lock(dataset_lock_file(root, name)) if name else None
        if name and fd is None:
            continue  # an import of that name is writing it now
        try:
            # Under the lock that name's row cannot change: look again, since a write may
            # have committed between the listing and the lock.
            if path in {p for _, p in leftovers(datasets, stored_folders(read_rows()))}:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.relative_to(root).as_posix())
        finally:
            if fd is not None:
                release(fd)
    return removed
