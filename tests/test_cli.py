"""The command line as a user runs it: subprocesses, exit codes and --json output."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from recdash.workspace import Workspace
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
        assert f"{model} on shop" in out.stderr  # progress on stderr, with --json too
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
    assert list((Workspace(ws).dataset_dir("demo") / "text-cache").glob("*.parquet"))
    rec = run("recommend", "--run", res["run"], "--user", "u00001", "--k", "3", "--json", ws=ws)
    assert rec.returncode == 0, rec.stderr
    recs = json.loads(rec.stdout)["recommendations"]
    assert [r["rank"] for r in recs] == [1, 2, 3] and all(r["title"] for r in recs)
    text = run("recommend", "--run", res["run"], "--user", "u00001", ws=ws).stdout
    assert recs[0]["title"] in text
    bad = run("recommend", "--run", "nope", "--user", "u1", ws=ws)
    assert bad.returncode == 1 and "no run 'nope'" in bad.stderr


def test_a_second_import_of_a_name_is_refused_while_the_first_runs(tmp_path):
    events = tmp_path / "events.csv"
    events.write_text("user,item\nu1,a\nu1,b\nu2,a\n")
    ws = Workspace(tmp_path / "ws")
    with ws.dataset_lock("shop"):  # an import of 'shop' in the studio, say
        out = run("import", "--interactions", str(events), "--name", "shop", ws=ws.root)
        assert out.returncode == 1
        assert "another import or change of dataset 'shop' is running (process " in out.stderr
        assert "wait for it to finish" in out.stderr
        assert ws.dataset_names() == []
        other = run("import", "--interactions", str(events), "--name", "other", ws=ws.root)
        assert other.returncode == 0, other.stderr  # other names are not held up
    out = run("import", "--interactions", str(events), "--name", "shop", ws=ws.root)
    assert out.returncode == 0, out.stderr
    assert ws.dataset_names() == ["other", "shop"]


@pytest.mark.parametrize("flags, first", [
    ((), (2011, 10, 30)), (("--time-format", "%m/%d/%Y %H:%M"), (2011, 10, 30))])
def test_import_reads_us_dates_and_takes_every_row_as_a_purchase(tmp_path, flags, first):
    events = tmp_path / "orders.csv"
    events.write_text("CustomerID,StockCode,InvoiceDate\n17850,85123A,10/30/2011 16:17\n"
                      "17850,71053,11/2/2011 9:01\n13047,84879,11/3/2011 10:00\n")
    ws = tmp_path / "ws"
    out = run("import", "--interactions", str(events), "--name", "orders", "--default-event",
              "purchase", *flags, "--json", ws=ws)
    assert out.returncode == 0, out.stderr
    ds = Workspace(ws).load_dataset("orders")
    stamp = ds.interactions["timestamp"].min()
    assert (stamp.year, stamp.month, stamp.day) == first
    assert set(ds.interactions["event_type"]) == {"purchase"}
    bad = run("import", "--interactions", str(events), "--name", "x", "--time-format",
              "day-first", "--json", ws=ws)
    assert bad.returncode == 1  # 10/30: there is no 30th month
    codes = {f["code"] for f in json.loads(bad.stdout)["report"]["findings"]}
    assert "unparseable_timestamps" in codes


def test_import_cuts_shoppers_into_sessions_when_asked(tmp_path):
    events = tmp_path / "clicks.csv"
    events.write_text("user,item,ts\nu1,a,2024-05-01T10:00\nu1,b,2024-05-01T10:10\n"
                      "u1,c,2024-05-01T12:00\nu2,a,2024-05-01T09:00\n")
    out = run("import", "--interactions", str(events), "--name", "visits", "--session-gap",
              "--json", ws=tmp_path / "ws")
    assert out.returncode == 0, out.stderr
    stats = json.loads(out.stdout)["report"]["stats"]
    assert (stats["sequences"], stats["users"]) == ("sessions", 3)  # u1#1, u1#2, u2#1


def test_search_as_a_shopper_and_anonymously(tmp_path):
    """`recdash search`: the known catalog's exact and misspelt queries, as a shopper of its log
    with the dataset's best run, and the errors a user can make."""
    from tests.search import known

    ws = tmp_path / "ws"
    known.log().to_csv(tmp_path / "events.csv", index=False)
    known.catalog().to_csv(tmp_path / "products.csv", index=False)
    assert run("import", "--interactions", str(tmp_path / "events.csv"), "--catalog",
               str(tmp_path / "products.csv"), "--name", "shop", ws=ws).returncode == 0
    out = run("search", "--data", "shop", "--query", "brewmastr", "--k", "3", "--json", ws=ws)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["results"][0]["item_id"] == "p10" and got["corrections"] == {
        "brewmastr": "brewmaster"}
    assert not got["personalised"] and got["run"] is None
    assert "search index of shop" in out.stderr  # progress on stderr
    assert len(list((ws / "text-model").glob("*.onnx"))) == 1  # the query encoder's export

    assert run("evaluate", "--data", "shop", "--model", "itemknn", ws=ws).returncode == 0
    mine = run("search", "--data", "shop", "--query", "lumio wireless mouse", "--user", "a00",
               "--personal", "1", "--json", ws=ws)
    assert mine.returncode == 0, mine.stderr
    mine = json.loads(mine.stdout)
    assert mine["personalised"] and mine["run"]
    assert mine["results"][0]["item_id"] == "p01"  # the audio shoppers' mouse
    plain = json.loads(run("search", "--data", "shop", "--query", "lumio wireless mouse",
                           "--json", ws=ws).stdout)
    assert plain["results"][0]["item_id"] == "p02"
    text = run("search", "--data", "shop", "--query", "rx580", "--k", "1", ws=ws).stdout
    assert "Voltix RX580 Graphics Card 8GB  [p03]" in text and "matched: RX580" in text

    bad = run("search", "--data", "shop", "--query", " ", ws=ws)
    assert bad.returncode == 1 and "query is empty" in bad.stderr
    bad = run("search", "--data", "shop", "--query", "mouse", "--personal", "2", ws=ws)
    assert bad.returncode == 1 and "give a weight from 0 to 1" in bad.stderr
    bad = run("search", "--data", "nope", "--query", "mouse", ws=ws)
    assert bad.returncode == 1 and "nope" in bad.stderr
