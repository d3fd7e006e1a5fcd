"""App tests of the Serve page on the demo shop with an item-kNN run, headless with AppTest: the
service reads stopped and offers Start, the curl commands use the chosen address and a real
shopper, a created key is shown once and is accepted by the key check, and Start and Stop work
on a stand-in server (tests/serve_helpers.py; no real `recdash serve` is started)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from recdash.data import schema as S
from recdash.runs.spec import RunSpec
from recdash.runs.train import run_evaluation
from recdash.serve import process
from recdash.serve.keys import KeyCheck
from recdash.workspace import Workspace
from tests.app_helpers import labelled, start_app
from tests.serve_helpers import fake_command


def text(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def codes(at: AppTest) -> list[str]:
    return [c.value for c in at.code]


@pytest.fixture
def at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The Serve page on a fresh workspace with the demo shop and one item-kNN run."""
    at = start_app(tmp_path, monkeypatch)
    assert not at.exception
    run_evaluation(Workspace(tmp_path), RunSpec("demo", "itemknn"))
    at = at.switch_page("pages/serve.py").run()
    yield at
    process.stop_server(Workspace(tmp_path))  # whatever a failed test left running


def test_the_page_reads_stopped_and_offers_start_with_curl_commands(
        at: AppTest, tmp_path: Path) -> None:
    assert not at.exception and at.title[0].value == "Serve"
    assert "badge[stopped]" in text(at)
    assert labelled(at.button, "Start")
    assert not [b for b in at.button if b.label == "Stop"]
    commands = codes(at)
    assert any("curl -s -H \"X-API-Key: $RECDASH_KEY\" 'http://127.0.0.1:8000/recommend?user="
               in c for c in commands)
    assert any(c == "curl -s 'http://127.0.0.1:8000/health'" for c in commands)
    events = Workspace(tmp_path).load_dataset("demo").interactions
    busiest = events[S.USER].value_counts().index[0]
    assert any(f"user={busiest}" in c for c in commands)  # a real shopper of the dataset
    # another port and every interface: the commands follow (a wildcard is called locally)
    labelled(at.number_input, "Port").set_value(8765).run()
    labelled(at.toggle, "Reachable from other machines").set_value(True).run()
    assert not at.exception
    assert any("'http://127.0.0.1:8765/metrics'" in c for c in codes(at))


def test_create_a_key_shows_it_once(at: AppTest, tmp_path: Path) -> None:
    assert any("No API keys yet" in c.value for c in at.caption)
    labelled(at.button, "Create a key").click().run()
    assert not at.exception
    shown = [c for c in codes(at) if c.startswith("rdk_")]
    assert len(shown) == 1
    assert any("will not be shown again" in w.value for w in at.warning)
    assert KeyCheck(Workspace(tmp_path)).name_of(shown[0]) == "key-1"
    assert at.dataframe[-1].value["name"].tolist() == ["key-1"]
    assert "hash" not in at.dataframe[-1].value.columns
    at.run()  # the next redraw no longer shows it
    assert not [c for c in codes(at) if c.startswith("rdk_")]
    assert labelled(at.text_input, "Key name").value == "key-2"


def test_start_and_stop(at: AppTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = process.free_port()
    monkeypatch.setattr(process, "serve_command",
                        lambda root, run_id, host, p, workers: fake_command(tmp_path, run_id, p))
    labelled(at.number_input, "Port").set_value(port).run()
    labelled(at.button, "Start").click().run()
    assert not at.exception
    deadline = time.monotonic() + 30
    while "badge[running]" not in text(at):
        assert time.monotonic() < deadline, text(at)
        time.sleep(0.2)
        at.run()
    assert f"http://127.0.0.1:{port}" in text(at) and "/docs" in text(at)
    table = at.dataframe[0].value  # the metrics, read with the studio's own key
    assert table.set_index("endpoint").at["/recommend", "requests"] == 100
    assert not [k for k in at.dataframe[-1].value.get("name", []) if k == process.MONITOR_KEY]
    assert any(f"'http://127.0.0.1:{port}/recommend?user=" in c for c in codes(at))
    labelled(at.button, "Stop").click().run()
    assert not at.exception
    assert "badge[stopped]" in text(at) and process.server_status(Workspace(tmp_path)) is None
