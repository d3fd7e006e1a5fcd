"""Shoppers' privacy (`recdash.privacy`): a pseudonymised import leaves no customer ID anywhere
in the workspace, pseudonyms are stable within a workspace and differ between workspaces, and
forgetting a shopper removes their events from the dataset, the event log and every file."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pandas as pd
import pytest

from recdash import privacy
from recdash.cli import main
from recdash.data import imports
from recdash.data import schema as S
from recdash.data.dataset import prepare_dataset
from recdash.errors import RecdashError
from recdash.serve.events import Event, EventLog
from recdash.workspace import Workspace

# anna has a duplicate event and cleo a single one: the report quotes both in example rows.
LOG = """customer,sku,time,event
anna-7731,A,2024-01-01 10:00,view
anna-7731,B,2024-01-01 10:05,cart
anna-7731,B,2024-01-01 10:05,cart
anna-7731,C,2024-01-05 09:00,purchase
bert-4410,A,2024-01-02 10:00,view
bert-4410,C,2024-01-02 11:00,purchase
cleo-9902,C,2024-01-03 10:00,view
dora-5521,A,2024-01-04 10:00,view
dora-5521,B,2024-01-04 10:02,view
"""
MAPPING = S.ColumnMapping({S.USER: "customer", S.ITEM: "sku", S.TIME: "time", S.EVENT: "event"})
RAW = ("anna-7731", "bert-4410", "cleo-9902", "dora-5521")


def _import(ws: Workspace, name: str, pseudonymise: bool = True):
    upload = imports.Upload("orders.csv", LOG.encode(), name)
    report = imports.import_upload(ws, imports.ImportRequest(
        name, upload, None, MAPPING, pseudonymise=pseudonymise))
    assert report.ok, report.format()
    return report


def _files_holding(root: Path, text: str) -> list[str]:
    """The workspace's files whose bytes contain `text`."""
    return [str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and text.encode() in p.read_bytes()]


def test_a_pseudonymised_import_stores_no_customer_id(tmp_path):
    ws = Workspace(tmp_path / "ws")
    report = _import(ws, "shop")
    key = privacy.pseudonym_key(ws)
    stored = ws.load_dataset("shop")
    assert set(stored.interactions[S.USER]) == {privacy.pseudonym_of(u, key) for u in RAW}
    for raw in RAW:
        assert not _files_holding(ws.root, raw), raw
    # The report quotes shoppers in example rows: as pseudonyms.
    quoted = [ex[S.USER] for f in ws.dataset_report("shop").findings for ex in f.examples
              if S.USER in ex]
    assert privacy.pseudonym_of("cleo-9902", key) in quoted
    assert quoted and all(u.startswith(privacy.PREFIX) for u in quoted)
    assert report.stats["pseudonymised"] is True and privacy.is_pseudonymised(ws, "shop")
    assert "Shopper IDs: pseudonymised" in ws.dataset_report("shop").format()
    path = privacy.key_path(ws)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_pseudonyms_are_stable_in_a_workspace_and_differ_between_workspaces(tmp_path):
    ws, other = Workspace(tmp_path / "a"), Workspace(tmp_path / "b")
    _import(ws, "first")
    _import(ws, "second")
    _import(other, "first")
    _import(ws, "plain", pseudonymise=False)
    assert ws_users(ws, "first") == ws_users(ws, "second")
    assert set(ws_users(ws, "first")).isdisjoint(ws_users(other, "first"))
    assert ws_users(ws, "plain") == sorted(RAW) and not privacy.is_pseudonymised(ws, "plain")
    key = privacy.pseudonym_key(ws)
    assert privacy.pseudonymise(["anna-7731", 7, "anna-7731"], key) == [
        privacy.pseudonym_of("anna-7731", key), privacy.pseudonym_of("7", key),
        privacy.pseudonym_of("anna-7731", key)]


def ws_users(ws: Workspace, name: str) -> list[str]:
    """A stored dataset's distinct user IDs, sorted."""
    return sorted(ws.load_dataset(name).interactions[S.USER].unique())


def test_the_key_is_made_once_even_by_racing_threads_and_a_damaged_one_is_refused(tmp_path):
    ws = Workspace(tmp_path)
    keys: list[bytes] = []
    threads = [threading.Thread(target=lambda: keys.append(privacy.pseudonym_key(ws)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8 and len(set(keys)) == 1 and len(keys[0]) == privacy.KEY_BYTES
    assert [p.name for p in privacy.key_path(ws).parent.iterdir()] == ["pseudonym.key"]
    privacy.key_path(ws).write_bytes(b"short")
    with pytest.raises(RecdashError, match="pseudonym.key is damaged"):
        privacy.pseudonym_key(ws)


@pytest.mark.parametrize("pseudonymise,given", [(False, "raw"), (True, "raw"),
                                                (True, "pseudonym")])
def test_forgetting_a_shopper_removes_their_events_everywhere(tmp_path, pseudonymise, given):
    ws = Workspace(tmp_path / "ws")
    _import(ws, "shop", pseudonymise)
    as_stored = (lambda u: privacy.pseudonym_of(u, privacy.pseudonym_key(ws))) \
        if pseudonymise else (lambda u: u)
    anna, bert = as_stored("anna-7731"), as_stored("bert-4410")
    log = EventLog.of(ws, "shop")  # the server's connection stays open throughout
    log.append([Event(anna, "A"), Event(anna, "C", S.CART), Event(bert, "B")])
    before = ws.load_dataset("shop").interactions
    assert _files_holding(ws.root, anna)  # the report and the log hold it at first

    done = privacy.forget_shopper(ws, "shop", "anna-7731" if given == "raw" else anna)

    assert done == {"dataset_events": 3, "logged_events": 2, "user": anna, "compacted": True}
    after = ws.load_dataset("shop")
    assert anna not in set(after.interactions[S.USER])
    pd.testing.assert_frame_equal(after.interactions,
                                  before[before[S.USER] != anna].reset_index(drop=True))
    assert after.report.stats["events"] == len(before) - 3 and after.report.stats["users"] == 3
    assert log.of_user(anna) == [] and [r[0] for r in log.of_user(bert)] == ["B"]
    assert _files_holding(ws.root, anna) == []  # no copy in Parquet, report, SQLite or WAL
    assert privacy.is_pseudonymised(ws, "shop") is pseudonymise
    with pytest.raises(RecdashError, match="no events of shopper 'anna-7731'"):
        privacy.forget_shopper(ws, "shop", "anna-7731")
    with pytest.raises(RecdashError, match="no events of shopper 'nobody'"):
        privacy.forget_shopper(ws, "shop", "nobody")
    log.close()


def test_forgetting_the_last_shopper_is_refused_and_sessions_go_with_their_shopper(tmp_path):
    ws = Workspace(tmp_path)
    lone, _ = prepare_dataset("lone", pd.DataFrame({"user_id": ["u1", "u1"],
                                                    "item_id": ["a", "b"]}))
    ws.save_dataset(privacy.for_storage(ws, lone, pseudonymise=False))
    with pytest.raises(RecdashError, match="nothing would be left"):
        privacy.forget_shopper(ws, "lone", "u1")
    assert len(ws.load_dataset("lone").interactions) == 2

    # Cut into sessions at 30 minutes: anna's events make two sessions, "<pseudonym>#n".
    cut, report = prepare_dataset("visits", LOG.encode(), interactions_name="orders.csv",
                                  session_gap=30)
    ws.save_dataset(privacy.for_storage(ws, cut, pseudonymise=True))
    anna = privacy.pseudonym_of("anna-7731", privacy.pseudonym_key(ws))
    users = ws_users(ws, "visits")
    assert [u for u in users if u.startswith(anna)] == [f"{anna}#1", f"{anna}#2"]
    done = privacy.forget_shopper(ws, "visits", "anna-7731")
    assert done["dataset_events"] == 3 and done["user"] == anna
    assert not any(u.startswith(anna) for u in ws_users(ws, "visits"))


def test_the_command_line_imports_pseudonymised_and_forgets(tmp_path, capsys):
    log = tmp_path / "orders.csv"
    log.write_text(LOG)
    ws = str(tmp_path / "ws")
    assert main(["--workspace", ws, "import", "--interactions", str(log), "--name", "shop",
                 "--pseudonymise", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["report"]["stats"]["pseudonymised"] is True
    assert not any(raw in json.dumps(out) for raw in RAW)  # nor in what the import prints
    assert main(["--workspace", ws, "datasets", "--report", "shop"]) == 0
    assert "Shopper IDs: pseudonymised" in capsys.readouterr().out

    assert main(["--workspace", ws, "forget", "--data", "shop", "--user", "bert-4410",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["dataset_events"] == 2 and out["user"].startswith("p_")
    assert main(["--workspace", ws, "forget", "--data", "shop", "--user", "bert-4410"]) == 1
    assert "no events of shopper 'bert-4410'" in capsys.readouterr().err
    assert ws_users(Workspace(ws), "shop") == sorted(
        privacy.pseudonymise(["anna-7731", "cleo-9902", "dora-5521"],
                             privacy.pseudonym_key(Workspace(ws))))


def test_the_data_page_imports_pseudonymised_when_ticked(tmp_path, monkeypatch):
    from tests.app.test_data_page import by_label, open_data_page

    at = open_data_page(tmp_path, monkeypatch)
    at.file_uploader[0].set_value(("orders.csv", LOG.encode(), "text/csv")).run()
    by_label(at.checkbox, "Pseudonymise shopper IDs").check()
    by_label(at.button, "Validate and import").click().run()
    assert not at.exception, at.exception
    ws = Workspace(tmp_path)
    assert privacy.is_pseudonymised(ws, "orders")
    assert ws_users(ws, "orders") == sorted(privacy.pseudonymise(RAW, privacy.pseudonym_key(ws)))
    assert any("Shopper IDs are pseudonymised" in c.value for c in at.caption)
