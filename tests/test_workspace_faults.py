"""Fault injection: a process writing the workspace is killed (SIGKILL) at every step of a dataset
write, a replace, a rename and a delete, and at random moments of a large write. The workspace
must then open, and every dataset be the old one or the new one, never a mix; nothing a killed
write left may stay behind once the workspace has opened again."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest

from recdash.workspace import Workspace
from tests.conftest import ROOT

WRITE_STEPS = ("locked", "folder created", "interactions written", "catalog written",
               "tables durable", "before commit", "committed", "old version removed")

CHILD = textwrap.dedent("""
    import os, signal, sys
    import pandas as pd
    import recdash.storage as storage, recdash.workspace as workspace
    from recdash.data import schema as S
    from recdash.data.dataset import prepare_dataset

    root, action, target, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

    def point(step):
        print(step, flush=True)
        if step == target:
            os.kill(os.getpid(), signal.SIGKILL)

    storage.fault_point = workspace.fault_point = point
    ws = workspace.Workspace(root)
    if action in ("write", "replace"):
        rows = pd.DataFrame({S.USER: [f"u{k % 7}" for k in range(n)],
                             S.ITEM: [f"i{k % 50}" for k in range(n)]})
        ds, _ = prepare_dataset("shop", rows)
        print("start", flush=True)
        ws.save_dataset(ds, overwrite=action == "replace")
    elif action == "delete":
        print("start", flush=True)
        ws.delete_dataset("shop")
    elif action == "rename":
        print("start", flush=True)
        ws.rename_dataset("shop", "shop-2024")
    print("done", flush=True)
""")


def _child(root, action: str, target: str = "", n: int = 5, delay: float | None = None):
    cmd = [sys.executable, "-c", CHILD, str(root), action, target, str(n)]
    if delay is None:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    # Kill `delay` seconds after the child says it starts the call (its imports take longer
    # than the call itself).
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.strip() == "start":
            break
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(cmd, proc.returncode, "".join(lines) + out, err)


def _last(done) -> str:
    return done.stdout.strip().split("\n")[-1]


def _files(root) -> set[str]:
    base = root / "datasets"
    return {p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file()}


def _check_consistent(root, allowed: dict[str, set[int]]) -> dict[str, int]:
    """Open the workspace as a new process would and check every dataset is whole.

    Returns:
        dataset name -> number of events.
    """
    import recdash.workspace as W

    W._OPENED.clear()  # a fresh process: leftovers are cleaned on opening
    ws = Workspace(root)
    found = {}
    for info in ws.datasets():
        ds = ws.load_dataset(info.name)
        n = len(ds.interactions)
        assert info.stats["events"] == n == ds.report.stats["events"]  # row and tables agree
        assert ws.dataset_report(info.name).stats == info.stats
        assert ws.dataset_dir(info.name).is_dir()
        found[info.name] = n
    assert set(found) in [set(a) for a in _alternatives(allowed)]
    for name, n in found.items():
        assert n in allowed[name]
    # Nothing but the stored versions' tables is left.
    stored = set(ws._folders())
    for path in _files(root):
        assert any(path.startswith(f + "/") for f in stored), path
    assert not ws.clean_leftovers()
    return found


def _alternatives(allowed: dict[str, set[int]]) -> list[dict]:
    """The sets of names that may be stored: for a rename either name, never both."""
    if "shop-2024" in allowed:
        return [{"shop": 0}, {"shop-2024": 0}]
    if 0 in allowed.get("shop", set()):  # a delete: the dataset may be gone
        return [{}, {"shop": 0}]
    return [{"shop": 0}]


@pytest.mark.parametrize("step", WRITE_STEPS)
def test_a_first_write_killed_at_each_step_stores_all_or_nothing(tmp_path, step):
    done = _child(tmp_path, "write", step)
    assert done.returncode == -signal.SIGKILL and _last(done) == step, done.stderr
    import recdash.workspace as W

    W._OPENED.clear()
    names = Workspace(tmp_path).dataset_names()
    if names:  # the commit happened: the new dataset, whole
        assert step in ("committed", "old version removed")
        _check_consistent(tmp_path, {"shop": {5}})
    else:
        assert step not in ("committed", "old version removed")
        assert not _files(tmp_path)  # nothing of it is left


@pytest.mark.parametrize("step", WRITE_STEPS)
def test_a_replace_killed_at_each_step_leaves_the_old_or_the_new_dataset(tmp_path, step):
    assert _child(tmp_path, "write", n=3).returncode == 0
    done = _child(tmp_path, "replace", step, n=5)
    assert done.returncode == -signal.SIGKILL and _last(done) == step, done.stderr
    found = _check_consistent(tmp_path, {"shop": {3, 5}})
    assert found["shop"] == (5 if step in ("committed", "old version removed") else 3)
    assert _child(tmp_path, "replace", n=7).returncode == 0  # and the next replace works
    assert _check_consistent(tmp_path, {"shop": {7}}) == {"shop": 7}


@pytest.mark.parametrize("action, step", [
    ("delete", "locked"), ("delete", "before commit"), ("delete", "rows deleted"),
    ("rename", "locked"), ("rename", "before commit"), ("rename", "committed")])
def test_a_delete_or_rename_killed_at_each_step_leaves_a_whole_workspace(tmp_path, action,
                                                                          step):
    assert _child(tmp_path, "write", n=3).returncode == 0
    done = _child(tmp_path, action, step)
    assert done.returncode == -signal.SIGKILL and _last(done) == step, done.stderr
    after = step in ("rows deleted", "committed")
    if action == "delete":
        assert _check_consistent(tmp_path, {"shop": {0, 3}}) == ({} if after else {"shop": 3})
    else:
        assert _check_consistent(tmp_path, {"shop": {3}, "shop-2024": {3}}) == (
            {"shop-2024": 3} if after else {"shop": 3})


def test_large_replaces_killed_at_random_moments_never_mix(tmp_path):
    assert _child(tmp_path, "write", n=1000).returncode == 0
    outcomes = []
    for k, delay in enumerate((0.0, 0.005, 0.01, 0.02, 0.03, 0.045, 0.06, 0.08, 0.12, 0.3)):
        n = 300_000 + k
        done = _child(tmp_path, "replace", "never", n=n, delay=delay)
        found = _check_consistent(tmp_path, {"shop": {1000, *range(300_000, n + 1)}})
        outcomes.append((found["shop"] == n, _last(done)))
    # The kills fell at different points of the write, and at least one before its commit.
    assert any(not stored for stored, _ in outcomes), outcomes
    assert _child(tmp_path, "replace", n=10).returncode == 0
    assert _check_consistent(tmp_path, {"shop": {10}}) == {"shop": 10}
