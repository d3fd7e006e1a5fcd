"""The live event log: order, deletion, atomic batches, and folding the events into the dataset
for the next training without counting them twice."""

from __future__ import annotations

import pandas as pd
import pytest

from recdash.cli import main
from recdash.serve.events import FOLDED, Event, EventLog, fold_events, folded_upto


@pytest.fixture
def shop(workspace):
    workspace.ensure_demo()
    return workspace


def test_a_shoppers_events_come_back_in_time_order_and_can_be_deleted(shop) -> None:
    log = EventLog.of(shop, "demo")
    log.append([Event("a", "p00003", "view", 300.0), Event("b", "p00001", "cart", 100.0)])
    log.append([Event("a", "p00001", "purchase", 200.0), Event("a", "p00002", "view", None)])
    got = log.of_user("a")
    assert [r[0] for r in got[:2]] == ["p00001", "p00003"]  # by time, then arrival
    assert got[-1][0] == "p00002"  # no time given: the time it was received (now)
    assert [r[0] for r in log.of_user("a", after=2)] == ["p00001", "p00002"]  # seq 3 and 4
    assert log.delete_users(["a"]) == 3 and log.of_user("a") == [] and log.count() == 1


def test_a_batch_is_stored_whole_or_not_at_all(shop) -> None:
    from recdash.errors import RecdashError
    from recdash.serve.events import MAX_BATCH

    log = EventLog.of(shop, "demo")
    with pytest.raises(RecdashError, match="at most"):
        log.append([Event("a", "p00001")] * (MAX_BATCH + 1))
    assert log.count() == 0


def test_folding_adds_the_new_events_once_and_readers_skip_them(shop) -> None:
    before = shop.load_dataset("demo")
    log = EventLog.of(shop, "demo")
    log.append([Event("u00001", "p00005", "purchase", 1.9e9),
                Event("newcomer", "brand-new-product", "view", 1.9e9)])
    done = fold_events(shop, "demo")
    assert done["folded"] == 2 and done["upto"] == 2
    after = shop.load_dataset("demo")
    assert len(after.interactions) == len(before.interactions) + 2
    assert after.report.stats[FOLDED] == 2 and folded_upto(after.report) == 2
    assert after.report.stats["events"] == len(after.interactions)
    assert "brand-new-product" in set(after.catalog["item_id"])  # added without details
    mine = after.interactions[after.interactions.user_id == "newcomer"]
    assert mine.item_id.tolist() == ["brand-new-product"]
    assert mine.timestamp.iloc[0] == pd.Timestamp(1.9e9, unit="s", tz="UTC")
    # the log keeps them; a reader of the folded dataset skips them, a second fold adds none
    assert log.count() == 2 and log.of_user("newcomer", after=folded_upto(after.report)) == []
    assert fold_events(shop, "demo")["folded"] == 0
    log.append([Event("newcomer", "p00007", "view", 1.9e9 + 60)])
    assert fold_events(shop, "demo") == {"folded": 1, "upto": 3,
                                         "events": len(after.interactions) + 1}


def test_recdash_events_counts_and_folds(shop, capsys) -> None:
    import json

    EventLog.of(shop, "demo").append([Event("u00002", "p00009", "cart", None)])
    assert main(["events", "--data", "demo", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["not_in_dataset"] == 1
    assert main(["events", "--data", "demo", "--fold", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["folded"] == 1
    assert main(["events", "--data", "demo", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["not_in_dataset"] == 0
