"""The HTTP API through a real `recdash serve` process on 127.0.0.1: every endpoint with good
and bad input, keys required and checked, live events reflected at once, a reload without a
failed request, and events that survive a kill -9."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from recdash.runs.spec import RunSpec
from recdash.runs.train import run_evaluation
from recdash.serve.events import EventLog
from recdash.serve.keys import create_key, revoke_key
from recdash.workspace import Workspace
from tests.serve import server as S

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A workspace with a small demo shop (375 shoppers, 1,162 products: its text vectors and
    search index build quickly), two finished runs and an API key."""
    from recdash.data.dataset import prepare_dataset
    from recdash.data.demo import generate_demo_shop

    root = tmp_path_factory.mktemp("serve")
    ws = Workspace(root)
    ds, report = prepare_dataset("demo", *generate_demo_shop(scale=0.15))
    assert ds is not None, report.format()
    ws.save_dataset(ds)
    knn, _ = run_evaluation(ws, RunSpec("demo", "itemknn"))
    pop, _ = run_evaluation(ws, RunSpec("demo", "pop"))
    return ws, knn, pop, create_key(ws, "tests")


@pytest.fixture(scope="module")
def served(shop):
    ws, knn, _, key = shop
    server = S.start(ws.root, knn)
    yield server
    # SIGTERM: uvicorn finishes what is in flight, then exits by the same signal
    assert server.stop() in (0, -15)
    assert "Traceback" not in server.output()


@pytest.fixture
def api(served, shop):
    with served.client(shop[3]) as client:
        yield client


def problem_fields(response: httpx.Response) -> list[str]:
    body = response.json()
    assert body["error"] and all(p["fix"] for p in body["problems"])
    return [p["field"] for p in body["problems"]]


def test_health_is_open_and_everything_else_needs_a_valid_key(served, shop) -> None:
    ws, knn, _, key = shop
    with served.client() as anonymous:
        health = anonymous.get("/health")
        assert health.status_code == 200 and health.json()["run"] == knn
        for path in ("/recommend?user=u00001", "/metrics", "/items/p00001/similar",
                     "/search?q=mouse"):
            refused = anonymous.get(path)
            assert refused.status_code == 401, path
            assert problem_fields(refused) == ["X-API-Key"]
        assert anonymous.get("/recommend?user=u00001",
                             headers={"X-API-Key": key + "x"}).status_code == 401
        assert anonymous.get("/recommend?user=u00001",
                             headers={"Authorization": f"Bearer {key}"}).status_code == 200
        spare = create_key(ws, "spare")
        time.sleep(1.1)  # the service re-reads its keys every second
        assert anonymous.get("/metrics", headers={"X-API-Key": spare}).status_code == 200
        revoke_key(ws, "spare")
        time.sleep(1.1)
        assert anonymous.get("/metrics", headers={"X-API-Key": spare}).status_code == 401


def test_recommend_for_a_shopper_and_for_a_given_history(api, shop) -> None:
    ws = shop[0]
    listed = api.get("/recommend", params={"user": "u00042", "k": 5}).json()
    assert listed["known_user"] and len(listed["recommendations"]) == 5
    assert [r["rank"] for r in listed["recommendations"]] == [1, 2, 3, 4, 5]
    assert {"item_id", "title", "score", "category", "price"} <= set(listed["recommendations"][0])
    stranger = api.get("/recommend", params={"user": "nobody-here"}).json()
    assert not stranger["known_user"] and len(stranger["recommendations"]) == 10

    items = [r["item_id"] for r in listed["recommendations"][:3]]
    given = api.post("/recommend", json={"items": items + ["no-such-item"], "k": 4}).json()
    assert given["unknown_items"] == ["no-such-item"] and len(given["recommendations"]) == 4
    assert given["recommendations"] != listed["recommendations"][:4]


@pytest.mark.parametrize("params, field", [
    ({"user": "u00042", "k": 0}, "k"), ({"user": "u00042", "k": "ten"}, "k"),
    ({"k": 3}, "user"), ({"user": "u" * 300}, "user"),
])
def test_recommend_refuses_bad_input_naming_the_field(api, params, field) -> None:
    response = api.get("/recommend", params=params)
    assert response.status_code == 422 and problem_fields(response) == [field]


def test_post_recommend_refuses_bad_bodies(api) -> None:
    mismatch = api.post("/recommend", json={"items": ["p00001", "p00002"], "types": ["view"]})
    assert mismatch.status_code == 422 and problem_fields(mismatch) == ["types"]
    broken = api.post("/recommend", content=b"{not json",
                      headers={"content-type": "application/json"})
    assert broken.status_code == 422 and "JSON" in broken.json()["problems"][0]["fix"]
    huge = api.post("/recommend", content=b"x" * (3 * 1024 * 1024),
                    headers={"content-type": "application/json"})
    assert huge.status_code == 413 and problem_fields(huge) == ["body"]
    assert api.get("/recommend", params={"user": "u00042", "rerank": "nope"}).status_code == 404


def test_a_posted_event_changes_the_next_answer_at_once(api, shop) -> None:
    ws = shop[0]
    before = api.get("/recommend", params={"user": "u00077", "k": 10}).json()
    top = before["recommendations"][0]["item_id"]
    stored = api.post("/events", json={"events": [
        {"user": "u00077", "item": top, "type": "purchase", "time": "2030-01-01T10:00:00Z"},
        {"user": "u00077", "item": "p99999", "type": "addtocart"}]})
    assert stored.status_code == 200 and stored.json()["stored"] == 2
    assert stored.json()["unknown_items"] == ["p99999"]
    after = api.get("/recommend", params={"user": "u00077", "k": 10}).json()
    assert after["live_events"] == 1  # the unknown product waits for the next training
    assert after["recommendations"] != before["recommendations"]
    logged = EventLog.of(ws, "demo").frame()
    assert set(logged.loc[logged.user_id == "u00077", "item_id"]) == {top, "p99999"}


@pytest.mark.parametrize("event, field", [
    ({"user": "u1", "item": "p00001", "type": "bogus"}, "events.1.type"),
    ({"user": "u1", "item": "p00001", "time": "yesterday"}, "events.1.time"),
    ({"user": "", "item": "p00001"}, "events.1.user"),
    ({"item": "p00001"}, "events.1.user"),
])
def test_bad_events_are_refused_and_none_of_the_batch_is_stored(api, shop, event,
                                                                 field) -> None:
    count = EventLog.of(shop[0], "demo").count()
    response = api.post("/events", json={"events": [{"user": "u2", "item": "p00002"}, event]})
    assert response.status_code == 422 and problem_fields(response) == [field]
    assert EventLog.of(shop[0], "demo").count() == count
    assert problem_fields(api.post("/events", json={"events": []})) == ["events"]


def test_search_explain_and_similar_items(api) -> None:
    found = api.get("/search", params={"q": "wireless mouse", "user": "u00042", "k": 5}).json()
    assert len(found["results"]) == 5 and "Mouse" in found["results"][0]["title"]
    assert found["personalised"] and found["facets"]["category"]
    assert problem_fields(api.get("/search", params={"q": ""})) == ["q"]

    # a visitor known only by live events (a short history keeps SHAP quick)
    api.post("/events", json={"events": [{"user": "visitor-9", "item": i, "type": "view"}
                                         for i in ("p00010", "p00011", "p00012", "p00300")]})
    listed = api.get("/recommend", params={"user": "visitor-9", "k": 1}).json()
    item = listed["recommendations"][0]["item_id"]
    why = api.get("/explain", params={"user": "visitor-9", "item": item, "k": 10}).json()
    assert why["reason"] and len(why["history"]) == 4 and "counterfactual" in why
    total = why["base_value"] + sum(h["shap"] for h in why["history"])  # SHAP's efficiency
    assert total == pytest.approx(listed["recommendations"][0]["score"], rel=1e-3, abs=1e-3)
    missing = api.get("/explain", params={"user": "visitor-9", "item": "p99999"})
    assert missing.status_code == 404 and problem_fields(missing) == ["item"]

    like = api.get("/items/p00001/similar", params={"k": 5}).json()
    assert len(like["similar"]) == 5 and "p00001" not in [r["item_id"] for r in like["similar"]]
    sims = [r["similarity"] for r in like["similar"]]
    assert sims == sorted(sims, reverse=True)
    assert api.get("/items/p99999/similar").status_code == 404


def test_metrics_count_requests_latency_and_errors_per_endpoint(api) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    api.get("/recommend", params={"user": "u00042"})
    api.get("/recommend", params={"user": "u00042", "k": 0})
    families = {f.name: f for f in text_string_to_metric_families(api.get("/metrics").text)}
    requests = {(s.labels["endpoint"], s.labels["status"]): s.value
                for s in families["recdash_requests"].samples if s.name.endswith("_total")}
    assert requests[("/recommend", "200")] >= 1 and requests[("/recommend", "422")] >= 1
    counts = [s for s in families["recdash_request_seconds"].samples
              if s.name.endswith("_count") and s.labels["endpoint"] == "/recommend"]
    assert counts and counts[0].value >= 2
    assert any(s.labels.get("run") for s in families["recdash_run_info"].samples)


def test_reload_swaps_the_run_without_a_failed_request(api, served, shop) -> None:
    _, knn, pop, key = shop
    failures, answered, stop = [], [], threading.Event()

    def hammer() -> None:
        with served.client(key) as client:
            while not stop.is_set():
                r = client.get("/recommend", params={"user": "u00042", "k": 5})
                (answered if r.status_code == 200 else failures).append(r.status_code)

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        assert api.post("/admin/reload", json={"run": pop}).json()["run"] == pop
        assert api.get("/health").json()["run"] == pop
        bad = api.post("/admin/reload", json={"run": "no-such-run"})
        assert bad.status_code == 400 and api.get("/health").json()["run"] == pop
        assert api.post("/admin/reload", json={"run": knn}).json()["run"] == knn
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert answered and not failures


def test_folded_events_move_from_the_log_into_the_stored_history_once(api, shop) -> None:
    from recdash.serve.events import fold_events

    ws = shop[0]
    api.post("/events", json={"events": [{"user": "fold-me", "item": "p00021", "type": "cart"},
                                         {"user": "fold-me", "item": "p00022"}]})
    live = api.get("/recommend", params={"user": "fold-me"}).json()
    assert not live["known_user"] and live["live_events"] == 2
    assert fold_events(ws, "demo")["folded"] >= 2
    assert api.post("/admin/reload", json={}).status_code == 200  # the same run, reloaded
    stored = api.get("/recommend", params={"user": "fold-me"}).json()
    assert stored["known_user"] and stored["live_events"] == 0  # not counted twice


def test_acknowledged_events_survive_a_kill_9(shop) -> None:
    ws, knn, _, key = shop
    server = S.start(ws.root, knn, "--no-search")  # recommendations only: a quicker start
    try:
        with server.client(key) as client:
            for n in range(20):
                ok = client.post("/events", json={"events": [
                    {"user": "crash-test", "item": f"p{n + 1:05d}", "type": "view"}]})
                assert ok.status_code == 200
    finally:
        server.stop(kill=True)
    assert server.proc.returncode == -9
    logged = EventLog.of(ws, "demo").frame()
    assert (logged.user_id == "crash-test").sum() == 20
    again = S.start(ws.root, knn, "--no-search")
    try:
        with again.client(key) as client:
            assert client.get("/recommend", params={"user": "crash-test"}).json()[
                "live_events"] == 20
    finally:
        again.stop()
