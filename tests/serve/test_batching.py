"""Dynamic batching: requests waiting together are scored in one call, each gets its own list,
exactly the list it would get alone, and a failing request fails only its own group."""

from __future__ import annotations

import asyncio

import pytest

from recdash.runs.spec import RunSpec
from recdash.runs.train import run_evaluation
from recdash.serve.batching import Batcher
from recdash.serve.state import NotFound, Served


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from recdash.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("batching"))
    ws.ensure_demo()
    run, _ = run_evaluation(ws, RunSpec("demo", "itemknn"))
    return Served.load(ws, run, search=False)


def test_waiting_requests_share_one_batch_and_get_their_own_lists(served) -> None:
    users = ["u00001", "u00002", "u00003", "u00004", "u00005"]
    histories = [served.history(u)[0] for u in users]
    batcher = Batcher()

    async def together():
        return await asyncio.gather(*(batcher.recommend(served, h, 5) for h in histories),
                                    batcher.recommend(served, histories[0], 3))

    got = asyncio.run(together())
    assert batcher.sizes == [6]  # one round for all six
    for h, rows in zip(histories, got):
        assert rows == served.recommend(h, "alone", 5)  # as if scored alone
    assert got[-1] == got[0][:3]  # another list length is its own group


def test_a_failing_request_fails_its_own_group_only(served) -> None:
    history = served.history("u00001")[0]
    batcher = Batcher()

    async def mixed():
        return await asyncio.gather(batcher.recommend(served, history, 5, "no-such-preset"),
                                    batcher.recommend(served, history, 5),
                                    return_exceptions=True)

    bad, good = asyncio.run(mixed())
    assert isinstance(bad, NotFound) and bad.field == "rerank"
    assert good == served.recommend(history, "alone", 5)
