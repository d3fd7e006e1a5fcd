"""App tests of the studio's frame and Home page, run headless with Streamlit's AppTest.

Each test points RECDASH_WORKSPACE at a temporary folder and clears Streamlit's caches first, so
every AppTest starts like a fresh server on that workspace.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from recdash.data.dataset import prepare_dataset
from recdash.workspace import ENV_VAR, Workspace
from tests.app_helpers import start_app

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "app.py"
TIMEOUT_S = 120  # the first start builds the demo shop


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.fixture(scope="module")
def first_start(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, AppTest]]:
    """The app started once on an empty workspace (which builds the demo shop)."""
    root = tmp_path_factory.mktemp("workspace")
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield root, start_app(root, monkeypatch)


def test_first_start_builds_and_shows_the_demo_shop(first_start: tuple[Path, AppTest]) -> None:
    root, at = first_start
    assert not at.exception
    assert at.status[0].label == "The demo shop is ready"
    table = at.dataframe[0].value
    assert table["name"].tolist() == ["demo"]
    assert at.sidebar.selectbox[0].value == "demo"
    stored = Workspace(root).load_dataset("demo")
    shown = metrics(at)
    assert shown["Shoppers"] == f"{stored.interactions['user_id'].nunique():,}"
    assert shown["Products"] == f"{len(stored.catalog):,}"
    assert shown["Events"] == f"{len(stored.interactions):,}"
    assert int(table["users"].iloc[0]) == stored.interactions["user_id"].nunique()
    assert len(at.get("plotly_chart")) == 3
    assert at.success and not at.error


def test_second_start_reuses_the_demo_shop(first_start: tuple[Path, AppTest],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root, _ = first_start
    created = Workspace(root).datasets()[0].created

    def must_not_run(*args, **kwargs):
        raise AssertionError("the demo shop was generated again")

    monkeypatch.setattr("recdash.data.demo.generate_demo_shop", must_not_run)
    at = start_app(root, monkeypatch)
    assert not at.exception
    assert not at.status  # no "building the demo shop" box
    assert [d.created for d in Workspace(root).datasets()] == [created]
    assert at.dataframe[0].value["name"].tolist() == ["demo"]


def tiny_shop(name: str, n_users: int) -> None:
    """Store a tiny dataset: n_users shoppers who each view and buy item 'a' on 2025-03-01."""
    users = [f"u{i}" for i in range(n_users)]
    events = pd.DataFrame({"user_id": users * 2, "item_id": "a",
                           "timestamp": ["2025-03-01T10:00:00Z"] * n_users
                           + ["2025-03-01T11:00:00Z"] * n_users,
                           "event_type": ["view"] * n_users + ["purchase"] * n_users})
    catalog = pd.DataFrame({"item_id": ["a", "b"], "title": ["Mug", "Tea"], "price": ["5", "3"]})
    ds, report = prepare_dataset(name, events, catalog)
    assert ds is not None, report.format()
    Workspace().save_dataset(ds, source="test")


def test_own_datasets_skip_the_demo_and_the_picker_switches(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    tiny_shop("shop-a", 3)
    tiny_shop("shop-b", 5)
    at = start_app(tmp_path, monkeypatch)
    assert not at.exception
    assert at.dataframe[0].value["name"].tolist() == ["shop-a", "shop-b"]
    assert not Workspace(tmp_path).has_dataset("demo")  # not an empty workspace: no demo
    assert at.sidebar.selectbox[0].value == "shop-a"
    assert metrics(at)["Shoppers"] == "3"
    at.sidebar.selectbox[0].select("shop-b").run()
    assert not at.exception
    shown = metrics(at)
    assert (shown["Shoppers"], shown["Products"], shown["Events"]) == ("5", "2", "10")
    assert shown["Date range"] == "1 day"


@pytest.mark.parametrize("page", ["home", "shopper"])
def test_a_page_run_on_its_own_is_drawn_inside_the_frame(tmp_path: Path, monkeypatch, page):
    """Streamlit runs a page file directly when its URL is the first request after a server
    start; the page must still come with the frame (sidebar dataset picker, navigation)."""
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "ws"))
    monkeypatch.chdir(REPO)
    at = AppTest.from_file(str(REPO / "pages" / f"{page}.py"), default_timeout=TIMEOUT_S).run()
    assert not at.exception
    assert [s.label for s in at.sidebar.selectbox] == ["Dataset"]
    assert at.title[0].value != ""


@pytest.mark.slow
def test_first_start_trains_the_demo_models_in_the_background(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On first start the studio queues the quick model and the baselines by itself, the
    baselines in their own lane (finished in seconds), and Home shows the training."""
    import time

    from recdash.runs import jobs
    from recdash.runs.demo import FIRST_START_BASELINES, FIRST_START_ENV, quick_spec

    monkeypatch.setenv(FIRST_START_ENV, "1")
    at = start_app(tmp_path, monkeypatch)
    ws = Workspace(tmp_path)
    try:
        assert not at.exception
        queue = jobs.status(ws)
        assert sorted(queue["model"]) == sorted([*FIRST_START_BASELINES, "attention"])
        attention = queue[queue["model"] == "attention"].iloc[0]
        # Measured as the Train page measures the demo shop: its shoppers come back to items
        # (47% of last events), so seen items stay candidates.
        assert jobs.get(ws, attention["id"]).spec == quick_spec(exclude_seen=False)
        at.run()
        assert any(m.value.startswith("**Training models on demo**") for m in at.markdown)
        deadline = time.time() + 120
        short = queue[queue["model"] != "attention"]["id"].tolist()
        while time.time() < deadline and any(
                jobs.get(ws, j).status in ("queued", "running") for j in short):
            time.sleep(0.5)
        assert [jobs.get(ws, j).status for j in short] == ["finished"] * len(short)
        assert jobs.get(ws, attention["id"]).status == "running"  # the baselines did not wait
    finally:
        for job_id in jobs.status(ws)["id"]:
            jobs.cancel(ws, job_id)
