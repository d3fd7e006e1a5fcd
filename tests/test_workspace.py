"""The workspace: atomic writes, renaming, deletion, locks, leftovers, and two processes at once.

Killing a write at each of its steps is tested in tests/test_workspace_faults.py."""

from __future__ import annotations

import json
import multiprocessing as mp

import pandas as pd
import pytest

from recdash.data import schema as S
from recdash.data.dataset import prepare_dataset
from recdash.errors import RecdashError
from recdash.runs import queue
from recdash.workspace import Workspace, suggest_name


def snapshot(root) -> dict[str, bytes]:
    """Every file under the workspace's datasets folder, with its bytes."""
    base = root / "datasets"
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*"))
            if p.is_file()}


def _ds(name="shop", n=3):
    rows = pd.DataFrame({S.USER: ["u"] * n, S.ITEM: [f"i{k}" for k in range(n)]})
    ds, _ = prepare_dataset(name, rows)
    return ds


def test_save_load_roundtrip(workspace):
    workspace.save_dataset(_ds())
    back = workspace.load_dataset("shop")
    assert back.interactions[S.ITEM].tolist() == ["i0", "i1", "i2"]
    assert back.report.stats["events"] == 3
    assert [d.name for d in workspace.datasets()] == ["shop"]
    assert workspace.dataset_report("shop").stats == back.report.stats


def test_unknown_dataset_names_the_stored_ones(workspace):
    workspace.save_dataset(_ds())
    with pytest.raises(RecdashError, match=r"no dataset named 'nope'.*stored: shop"):
        workspace.load_dataset("nope")


@pytest.mark.parametrize("bad", ["../evil", "a/b", "", ".hidden", "x" * 65, "spa ce", "shop\n",
                                 "shop\x00", "..", "-x", "shop/", "ü-shop", "CON", "nul.txt",
                                 "Com1"])
def test_names_are_sanitised(workspace, bad):
    with pytest.raises(RecdashError, match="not allowed"):
        workspace.save_dataset(_ds(bad))
    assert not any(workspace.root.parent.glob("evil*"))


def test_suggest_name_from_uploaded_file_names():
    assert suggest_name("../../My Shop (2024).csv.gz") == "My-Shop-2024"


def test_failed_write_leaves_previous_version(workspace, monkeypatch):
    workspace.save_dataset(_ds(n=3))
    before = snapshot(workspace.root)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    with pytest.raises(OSError):
        workspace.save_dataset(_ds(n=5), overwrite=True)
    monkeypatch.undo()
    assert len(workspace.load_dataset("shop").interactions) == 3
    assert snapshot(workspace.root) == before


def test_existing_name_needs_overwrite(workspace):
    workspace.save_dataset(_ds())
    with pytest.raises(RecdashError, match="exists"):
        workspace.save_dataset(_ds())
    workspace.save_dataset(_ds(n=4), overwrite=True)
    assert len(workspace.load_dataset("shop").interactions) == 4


def test_delete_removes_files_and_rows(workspace):
    workspace.save_dataset(_ds())
    run = workspace.create_run("shop", "pop", {}, {})
    workspace.finish_run(run, {"all": {"NDCG@10": 0.1}})
    home = workspace.dataset_dir("shop")
    workspace.delete_dataset("shop")
    assert workspace.dataset_names() == [] and workspace.runs().empty
    assert not home.exists() and not any((workspace.root / "datasets").iterdir())


def _writer(root: str, worker: int) -> None:
    ws = Workspace(root)
    for k in range(15):
        run = ws.create_run("shop", f"m{worker}", {"k": k}, {})
        ws.finish_run(run, {"all": {"NDCG@10": k / 10}})


def test_two_processes_write_at_once(workspace):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(workspace.root), w)) for w in range(2)]
    for p in procs:
        p.start()
    # Meanwhile this process reads, as the studio would.
    while any(p.is_alive() for p in procs):
        workspace.runs()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    runs = workspace.runs()
    assert len(runs) == 30 and set(runs["status"]) == {"finished"}
    assert all(workspace.metrics(r)["all"]["NDCG@10"] >= 0 for r in runs["id"])


def _job(workspace, job_id, dataset, status):
    queue.add(workspace, job_id, json.dumps({"dataset": dataset, "model": "pop"}), "cpu")
    if status != "queued":
        queue.update(workspace, job_id, status=status)


def test_rename_moves_rows_runs_and_jobs_and_keeps_the_files(workspace):
    workspace.save_dataset(_ds(n=3))
    workspace.save_dataset(_ds("other", n=2))
    home, files = workspace.dataset_dir("shop"), snapshot(workspace.root)
    created = {d.name: d.created for d in workspace.datasets()}
    run = workspace.create_run("shop", "pop", {}, {})
    workspace.create_run("other", "pop", {}, {})
    _job(workspace, "j1", "shop", "queued")
    _job(workspace, "j2", "other", "queued")
    workspace.rename_dataset("shop", "shop-2024")
    assert workspace.dataset_names() == ["shop-2024", "other"]
    assert [d.created for d in workspace.datasets()] == [created["shop"], created["other"]]
    assert len(workspace.load_dataset("shop-2024").interactions) == 3
    assert workspace.dataset_dir("shop-2024") == home  # its caches stay with it
    assert snapshot(workspace.root) == files  # a rename moves no file
    with pytest.raises(RecdashError, match="no dataset named 'shop'"):
        workspace.dataset_dir("shop")
    assert workspace.runs("shop-2024")["id"].tolist() == [run]
    assert len(workspace.runs("other")) == 1 and workspace.runs("shop").empty
    specs = {row["id"]: json.loads(row["spec"]) for row in queue.rows(workspace)}
    assert specs == {"j1": {"dataset": "shop-2024", "model": "pop"},
                     "j2": {"dataset": "other", "model": "pop"}}


@pytest.mark.parametrize("new, message", [("other", "exists"), ("../evil", "not allowed"),
                                          ("spa ce", "not allowed")])
def test_rename_refuses_taken_and_bad_names(workspace, new, message):
    workspace.save_dataset(_ds())
    workspace.save_dataset(_ds("other"))
    before = snapshot(workspace.root)
    with pytest.raises(RecdashError, match=message):
        workspace.rename_dataset("shop", new)
    assert workspace.dataset_names() == ["shop", "other"]
    assert snapshot(workspace.root) == before


def test_rename_refuses_an_unknown_dataset_and_a_dataset_in_training(workspace):
    with pytest.raises(RecdashError, match="no dataset named 'nope'"):
        workspace.rename_dataset("nope", "new")
    workspace.save_dataset(_ds())
    _job(workspace, "j1", "shop", "running")
    with pytest.raises(RecdashError, match="training job is running"):
        workspace.rename_dataset("shop", "new")
    assert workspace.dataset_names() == ["shop"]
    assert json.loads(queue.rows(workspace)[0]["spec"])["dataset"] == "shop"


def test_a_second_import_of_a_name_is_refused_while_the_first_runs(workspace):
    import threading

    from recdash.locks import LockBusy

    with workspace.dataset_lock("shop"):
        workspace.save_dataset(_ds(n=3))  # the holder itself may write (re-entrant)
        refused = []

        def other():  # another session of the studio, in another thread
            try:
                Workspace(workspace.root).save_dataset(_ds(n=5), overwrite=True)
            except LockBusy as exc:
                refused.append(str(exc))

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert refused and "another import or change of dataset 'shop' is running" in refused[0]
        assert f"process {__import__('os').getpid()}" in refused[0]
        with pytest.raises(LockBusy):
            _other_process_renames(workspace.root)
    assert len(workspace.load_dataset("shop").interactions) == 3
    workspace.rename_dataset("shop", "shop2")  # released: the next one goes ahead


def _other_process_renames(root):
    import subprocess
    import sys
    code = ("import sys; from recdash.workspace import Workspace; from recdash.locks import "
            "LockBusy\ntry:\n  Workspace(sys.argv[1]).rename_dataset('shop', 'x')\n"
            "except LockBusy as e:\n  print(e); sys.exit(3)")
    done = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True,
                          text=True, timeout=60)
    if done.returncode == 3:
        raise __import__("recdash.locks").locks.LockBusy(done.stdout)
    assert done.returncode == 0, done.stderr


def test_leftovers_of_killed_writes_are_removed_when_the_workspace_opens(workspace):
    import recdash.workspace as W

    workspace.save_dataset(_ds(n=3))
    home = workspace.dataset_dir("shop")
    (home / "v-deadbeef0000").mkdir()  # a version no row names
    (home / "v-deadbeef0000" / "interactions.parquet").write_bytes(b"half")
    (workspace.root / "datasets" / "gone.0123abcd" / "v-1").mkdir(parents=True)  # no row
    (workspace.root / "datasets" / ".tmp-0a1b").mkdir()  # an earlier version's temporary
    kept = snapshot(workspace.root)
    W._OPENED.clear()  # as in a new process
    Workspace(workspace.root)
    left = snapshot(workspace.root)
    assert not (home / "v-deadbeef0000").exists()
    assert not (workspace.root / "datasets" / "gone.0123abcd").exists()
    assert not (workspace.root / "datasets" / ".tmp-0a1b").exists()
    assert left == {k: v for k, v in kept.items() if "deadbeef" not in k}
    assert len(workspace.load_dataset("shop").interactions) == 3


def test_a_running_imports_folder_is_not_cleaned(workspace):
    import recdash.workspace as W

    with workspace.dataset_lock("fresh"):
        busy = workspace.root / "datasets" / "fresh.0123abcd" / "v-000000000000"
        busy.mkdir(parents=True)
        W._OPENED.clear()
        Workspace(workspace.root)
        assert busy.is_dir()  # its writer holds the name's lock
    assert workspace.clean_leftovers() == ["datasets/fresh.0123abcd"]


def test_a_workspace_of_the_earlier_layout_still_loads_and_is_replaced_safely(workspace):
    """Earlier versions stored the tables in datasets/<name>/ and the row's folder = name."""
    workspace.save_dataset(_ds(n=3))
    folder = workspace.root / "datasets" / "shop"
    stored = workspace.root / "datasets" / next(iter(workspace._folders()))
    folder.mkdir()
    for f in stored.iterdir():
        f.rename(folder / f.name)
    (folder / "text-cache").mkdir()
    (folder / "text-cache" / "vectors.parquet").write_bytes(b"cache")
    with workspace.connect() as db:
        db.execute("UPDATE datasets SET folder = 'shop'")
    __import__("shutil").rmtree(workspace.dataset_dir("shop").parent / stored.parent.name)
    assert len(workspace.load_dataset("shop").interactions) == 3
    workspace.save_dataset(_ds(n=4), overwrite=True)
    assert len(workspace.load_dataset("shop").interactions) == 4
    assert workspace.dataset_dir("shop") == folder
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == []  # old tables removed
    assert (folder / "text-cache" / "vectors.parquet").read_bytes() == b"cache"  # cache kept


def test_a_dataset_whose_files_are_gone_says_so(workspace):
    workspace.save_dataset(_ds())
    __import__("shutil").rmtree(workspace.dataset_dir("shop"))
    with pytest.raises(RecdashError, match="stored tables of dataset 'shop' cannot be read"):
        workspace.load_dataset("shop")


@pytest.mark.parametrize("folder", ["../../outside", "/etc", "shop/../../x", "shop/v-1/../..",
                                    "shop\n", ""])
def test_a_catalog_folder_outside_the_workspace_is_never_followed(workspace, tmp_path, folder):
    workspace.save_dataset(_ds())
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    with workspace.connect() as db:
        db.execute("UPDATE datasets SET folder = ?", (folder,))
    for call in (lambda: workspace.load_dataset("shop"), lambda: workspace.dataset_dir("shop"),
                 lambda: workspace.save_dataset(_ds(n=4), overwrite=True)):
        with pytest.raises(RecdashError, match="the catalog is damaged"):
            call()
    import recdash.workspace as W
    W._OPENED.clear()
    Workspace(workspace.root)  # the leftovers cleaner does not follow it either
    workspace.delete_dataset("shop")
    assert (outside / "keep.txt").read_text() == "mine"
    assert workspace.dataset_names() == []


def test_suggested_names_are_always_allowed():
    from recdash.workspace import check_name
    for text in ("CON.csv", "nul", "../../x.csv", "", "名前.csv", "a" * 300 + ".csv", "Com1.txt"):
        assert check_name(suggest_name(text)) == suggest_name(text)
