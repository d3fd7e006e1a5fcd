"""A pseudonymised shop through a real `recdash serve`: the shop sends its own shopper IDs, the
API answers and logs pseudonyms only, and deleting a shopper removes their stored and live
events and the history the service held."""

from __future__ import annotations

import pytest

from recdash.data.dataset import prepare_dataset
from recdash.data.demo import generate_demo_shop
from recdash.privacy import for_storage, pseudonym_key, pseudonym_of
from recdash.runs.spec import RunSpec
from recdash.runs.train import run_evaluation
from recdash.serve.events import EventLog
from recdash.serve.keys import create_key
from recdash.workspace import Workspace
from tests.serve import server as S

pytestmark = pytest.mark.slow


def test_raw_ids_in_pseudonyms_out_and_a_shopper_forgotten(tmp_path) -> None:
    ws = Workspace(tmp_path / "ws")
    events, catalog = generate_demo_shop(scale=0.15)  # 375 shoppers: a quick start
    ds, report = prepare_dataset("shop", events, catalog)
    assert ds is not None, report.format()
    ws.save_dataset(for_storage(ws, ds, pseudonymise=True))
    run, _ = run_evaluation(ws, RunSpec("shop", "itemknn"))
    key = create_key(ws, "shop-web")
    alias = pseudonym_of("u00042", pseudonym_key(ws))

    server = S.start(ws.root, run, "--no-search")
    try:
        with server.client(key) as api:
            listed = api.get("/recommend", params={"user": "u00042"}).json()
            assert listed["known_user"] and listed["user"] == alias
            posted = api.post("/events", json={"events": [
                {"user": "u00042", "item": listed["recommendations"][0]["item_id"],
                 "type": "purchase"}]})
            assert posted.status_code == 200
            again = api.get("/recommend", params={"user": "u00042"}).json()
            assert again["live_events"] == 1
            assert api.get("/search", params={"q": "mouse"}).status_code == 503

            gone = api.delete("/users/u00042")
            assert gone.status_code == 200, gone.text
            assert gone.json()["forgotten"]["logged_events"] == 1
            after = api.get("/recommend", params={"user": "u00042"}).json()
            assert not after["known_user"] and after["live_events"] == 0
            assert api.get("/recommend", params={"user": "u00043"}).json()["known_user"]
            assert api.delete("/users/u00042").status_code == 400  # nothing left to delete
    finally:
        server.stop()
    assert "u00042" not in server.output()
    logged = EventLog.of(ws, "shop").frame()
    assert not logged.user_id.str.startswith("u0").any()  # only pseudonyms were logged
    stored = ws.load_dataset("shop").interactions.user_id
    assert alias not in set(stored) and "u00042" not in set(stored)
