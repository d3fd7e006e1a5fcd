"""The workspace: atomic writes, renaming, deletion, and two processes at once."""

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


@pytest.mark.parametrize("bad", ["../evil", "a/b", "", ".hidden", "x" * 65, "spa ce"])
def test_names_are_sanitised(workspace, bad):
    with pytest.raises(RecdashError, match="not allowed"):
        workspace.save_dataset(_ds(bad))
    assert not any(workspace.root.parent.glob("evil*"))


def test_suggest_name_from_uploaded_file_names():
    assert suggest_name("../../My Shop (2024).csv.gz") == "My-Shop-2024"


def test_failed_write_leaves_previous_version(workspace, monkeypatch):
    workspace.save_dataset(_ds(n=3))

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    with pytest.raises(OSError):
        workspace.save_dataset(_ds(n=5), overwrite=True)
    monkeypatch.undo()
    assert len(workspace.load_dataset("shop").interactions) == 3
    assert [p.name for p in (workspace.root / "datasets").iterdir()] == ["shop"]


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
    workspace.delete_dataset("shop")
    assert workspace.dataset_names() == [] and workspace.runs().empty
    assert not (workspace.root / "datasets" / "shop").exists()


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


def test_rename_moves_files_rows_runs_and_jobs(workspace):
    workspace.save_dataset(_ds(n=3))
    workspace.save_dataset(_ds("other", n=2))
    created = {d.name: d.created for d in workspace.datasets()}
    run = workspace.create_run("shop", "pop", {}, {})
    workspace.create_run("other", "pop", {}, {})
    _job(workspace, "j1", "shop", "queued")
    _job(workspace, "j2", "other", "queued")
    workspace.rename_dataset("shop", "shop-2024")
    assert workspace.dataset_names() == ["shop-2024", "other"]
    assert [d.created for d in workspace.datasets()] == [created["shop"], created["other"]]
    assert len(workspace.load_dataset("shop-2024").interactions) == 3
    assert workspace.dataset_dir("shop-2024").is_dir()
    assert not (workspace.root / "datasets" / "shop").exists()
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
    with pytest.raises(RecdashError, match=message):
        workspace.rename_dataset("shop", new)
    assert workspace.dataset_names() == ["shop", "other"]
    assert sorted(p.name for p in (workspace.root / "datasets").iterdir()) == ["other", "shop"]


def test_rename_refuses_an_unknown_dataset_and_a_dataset_in_training(workspace):
    with pytest.raises(RecdashError, match="no dataset named 'nope'"):
        workspace.rename_dataset("nope", "new")
    workspace.save_dataset(_ds())
    _job(workspace, "j1", "shop", "running")
    with pytest.raises(RecdashError, match="training job is running"):
        workspace.rename_dataset("shop", "new")
    assert workspace.dataset_names() == ["shop"]
    assert json.loads(queue.rows(workspace)[0]["spec"])["dataset"] == "shop"


def test_failed_folder_rename_leaves_the_catalog_unchanged(workspace, monkeypatch):
    workspace.save_dataset(_ds())
    run = workspace.create_run("shop", "pop", {}, {})

    def boom(self, target):
        raise OSError("device busy")

    monkeypatch.setattr("pathlib.Path.rename", boom)
    with pytest.raises(OSError, match="device busy"):
        workspace.rename_dataset("shop", "new")
    monkeypatch.undo()
    assert workspace.dataset_names() == ["shop"]
    assert workspace.runs("shop")["id"].tolist() == [run]
    assert len(workspace.load_dataset("shop").interactions) == 3
