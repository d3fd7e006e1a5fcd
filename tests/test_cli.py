"""The command line as a user runs it: subprocesses, exit codes and --json output."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, dataset_dir


def run(*args, ws):
    return subprocess.run([sys.executable, "-m", "recdash", "--workspace", str(ws), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})


def test_import_datasets_evaluate_roundtrip(tmp_path):
    events = tmp_path / "events.csv"
    lines = ["visitorid,itemid,timestamp,event"]
    for u in range(30):
        for t, item in enumerate([u % 5, (u + 1) % 5, (u + 2) % 5, (u + 3) % 5]):
            lines.append(f"v{u},sku{item},{1700000000 + 3600 * t + u},view")
    events.write_text("\n".join(lines) + "\n")
    ws = tmp_path / "ws"
    out = run("import", "--interactions", str(events), "--name", "shop", "--json", ws=ws)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)["report"]
    assert report["ok"] and report["stats"]["users"] == 30
    assert "user_id <- 'visitorid' (guessed)" in report["columns"]["events.csv"]
    listed = json.loads(run("datasets", "--json", ws=ws).stdout)["datasets"]
    assert [d["name"] for d in listed] == ["shop"]
    for model in ("pop", "itemknn", "ease"):
        out = run("evaluate", "--data", "shop", "--model", model, "--k", "5", "--json", ws=ws)
        assert out.returncode == 0, out.stderr
        res = json.loads(out.stdout)
        assert res["protocol"]["ranking"] == "full" and res["protocol"]["n_candidates"] == 5
        assert 0.0 <= res["metrics"]["NDCG@5"] <= 1.0
    from recdash.workspace import Workspace
    runs = Workspace(ws).runs("shop")
    assert runs.set_index("id").loc[res["run"], "status"] == "finished"
    assert Workspace(ws).metrics(res["run"])["all"]["NDCG@5"] == pytest.approx(
        res["metrics"]["NDCG@5"])


def test_bad_input_exits_non_zero_with_the_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("who,what\nx,y\n")
    out = run("import", "--interactions", str(bad), "--name", "bad", ws=tmp_path / "ws")
    assert out.returncode == 1 and "ERROR missing_column" in out.stdout
    out = run("evaluate", "--data", "nope", "--model", "pop", ws=tmp_path / "ws")
    assert out.returncode == 1 and "no dataset named 'nope'" in out.stderr
    out = run("evaluate", "--data", "x", "--model", "bogus", ws=tmp_path / "ws")
    assert out.returncode == 2 and "invalid choice" in out.stderr


def test_demo_command(tmp_path):
    out = run("demo", "--scale", "0.1", "--json", ws=tmp_path / "ws")
    assert out.returncode == 0, out.stderr
    stats = json.loads(out.stdout)["report"]["stats"]
    assert stats["purchase_events"] > 0 and stats["cart_events"] > 0


@pytest.mark.realdata
def test_public_import_via_cli(tmp_path):
    out = run("import", "--public", str(dataset_dir("amazon-scientific")), "--name", "sci",
              "--json", ws=tmp_path / "ws")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["report"]["stats"]["events"] == 59427


def test_cli_model_choices_are_the_registry():
    from recdash.cli import build_parser
    from recdash.runs.registry import MODELS
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    model = next(a for a in train._actions if a.dest == "model")
    assert list(model.choices) == list(MODELS)


def test_train_then_recommend_with_the_attention_ranker(tmp_path):
    ws = tmp_path / "ws"
    assert run("demo", "--scale", "0.05", "--json", ws=ws).returncode == 0
    out = run("train", "--data", "demo", "--model", "attention", "--device", "cpu", "--epochs",
              "2", "--max-len", "20", "--dim", "16", "--json", ws=ws)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["protocol"]["ranking"] == "full" and 0.0 <= res["metrics"]["NDCG@10"] <= 1.0
    from recdash.workspace import Workspace
    params = json.loads(Workspace(ws).runs().iloc[-1]["params"])
    assert params["training"]["epochs_run"] == 2
    # The text tower's embeddings were cached beside the dataset, for the next run.
    assert list((ws / "datasets" / "demo" / "text-cache").glob("*.parquet"))
    rec = run("recommend", "--run", res["run"], "--user", "u00001", "--k", "3", "--json", ws=ws)
    assert rec.returncode == 0, rec.stderr
    recs = json.loads(rec.stdout)["recommendations"]
    assert [r["rank"] for r in recs] == [1, 2, 3] and all(r["title"] for r in recs)
    text = run("recommend", "--run", res["run"], "--user", "u00001", ws=ws).stdout
    assert recs[0]["title"] in text
    bad = run("recommend", "--run", "nope", "--user", "u1", ws=ws)
    assert bad.returncode == 1 and "no run 'nope'" in bad.stderr
