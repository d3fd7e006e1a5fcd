"""Crash-safe files for the workspace: durable writes, atomic replacement, and the dataset folders'
layout.

A stored dataset lives in a *home* folder, `datasets/<home>/`, that keeps its caches (text
embeddings) across replacements, and each stored version of its tables in a version folder
`datasets/<home>/v-<hex>/`. The catalog row names the version folder, so the one atomic step of
a write or a replace is the SQLite commit that points the row at a complete, fsynced folder:
killed before it, the workspace still has the old version; killed after it, the new one. What a
killed write leaves behind (a version folder no row names, a home without a row) is found by
`leftovers` and removed when the workspace next opens. Homes are named `<name>.<8 hex>` when the
dataset is created and keep that name when it is renamed (a rename is a catalog update only).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd

VERSION_PREFIX = "v-"
# What a catalog row's `folder` may hold: a home (a dataset name, maybe + "." + 8 hex digits),
# optionally with a version folder. Anything else (an absolute path, "..") is never followed.
_FOLDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,72}(/v-[0-9a-f]{12})?")
TABLE_FILES = ("interactions.parquet", "catalog.parquet", "report.json")


def fault_point(step: str) -> None:
    """Called at each step of a dataset write; the fault-injection tests kill the process here."""


def fsync_dir(folder: Path) -> None:
    """Make a folder's entries (new, renamed or removed files) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, write: Callable[[Path], None]) -> None:
    """Write a file with `write(path)` and flush it to the disk before returning."""
    write(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
