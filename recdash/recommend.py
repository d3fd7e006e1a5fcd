"""The one serving path: from histories to ranked lists of the shop's products.

Every list recdash shows or hands out comes from here: the Shopper, Explain and Diversity pages,
the export, `recdash recommend`, and the search and HTTP API built on them. A `Service` wraps a
fitted model with what serving needs and builds it once per loaded run: the item index (shop ID
-> internal index), the products' titles, categories and prices aligned with the model's items,
and every shopper's stored history. It then scores many histories (a shopper's stored history,
an edited one, an anonymous session) in batches of `BATCH`, so memory stays bounded at
BATCH x catalog scores whatever the number of histories.

`top_k` is the scoring step on internal indices (explanations and candidate pools use it
directly); the Service adds the shop's IDs, product details and re-ranking.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from recdash.data import schema as S
from recdash.data.dataset import Dataset
from recdash.errors import RecdashError
from recdash.eval.evaluate import mask_seen_
from recdash.models.base import Recommender
from recdash.progress import Progress

BATCH = 256  # histories scored at once: BATCH x catalog float32 scores in memory at most
DETAILS = (S.TITLE, S.CATEGORY, S.PRICE)  # product columns added to every list
LIST_COLUMNS = (S.USER, "rank", S.ITEM, "score", *DETAILS)
RECOMMENDATION_COLUMNS = ("rank", S.ITEM, S.TITLE, S.CATEGORY, S.PRICE, "score")
MAX_K = 1000

# (candidates, scores, history) -> the chosen candidates in order: a re-ranking of one list.
Reranker = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class History:
    """One history in the model's terms, oldest first.

    Attributes:
        items: (n,) int32 internal item indices.
        events: (n,) int8 codes of schema.EVENT_TYPES.
        times: (n,) float64 epoch seconds, NaN where unknown.
    """

    items: np.ndarray
    events: np.ndarray
    times: np.ndarray

    def __len__(self) -> int:
        return len(self.items)

    @classmethod
    def empty(cls) -> "History":
        return cls(np.zeros(0, np.int32), np.zeros(0, np.int8), np.zeros(0, np.float64))


def check_k(k: int) -> int:
    """k as an int in 1..MAX_K, or a RecdashError saying what is allowed."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_K:
        raise RecdashError(f"k={k!r} is out of range: ask for 1 to {MAX_K:,} items per list")
    return int(k)


def top_k(model: Recommender, histories: Sequence[History], k: int, exclude_seen: bool = True,
          batch: int = BATCH) -> tuple[np.ndarray, np.ndarray]:
    """Each history's k best items, scored in batches.

    Args:
        model: a fitted recommender.
        histories: the histories (an empty one gets the model's popularity fallback).
        k: list length (at most the catalog).
        exclude_seen: leave each history's own items out.
        batch: histories per scoring call.

    Returns:
        ((B, k) internal indices, (B, k) float32 scores), best first; a slot whose score is
        -inf (fewer than k items left after the seen filter) is not a recommendation.
    """
    k = min(check_k(k), model.n_items)
    idx = np.empty((len(histories), k), dtype=np.int64)
    val = np.empty((len(histories), k), dtype=np.float32)
    for lo in range(0, len(histories), batch):
        part = histories[lo:lo + batch]
        items = [h.items for h in part]
        scores = torch.from_numpy(model.score(items, [h.events for h in part],
                                              [h.times for h in part]))
        if exclude_seen:
            mask_seen_(scores, items)
        top = torch.topk(scores, k, dim=1)
        idx[lo:lo + len(part)] = top.indices.numpy()
        val[lo:lo + len(part)] = top.values.numpy()
    return idx, val


class Service:
    """A fitted model ready to serve lists in the shop's terms.

    Args:
        model: a fitted recommender.
        dataset: the dataset it was trained on (product details; stored histories).
        split: the run's split; its sequences are every shopper's whole stored history (all
            stages: what the shop would show them next). Without it, the model's training
            histories are used.
        exclude_seen: the default for leaving a history's own items out (the run's setting).
        run_id: the run served, when it came from the workspace.
    """

    def __init__(self, model: Recommender, dataset: Dataset | None = None, split=None, *,
                 exclude_seen: bool = True, run_id: str | None = None) -> None:
        self.model = model
        self.dataset = dataset
        self.split = split
        self.exclude_seen = exclude_seen
        self.run_id = run_id
        self.items = model.item_ids
        self.index = model.item_index  # built once, here
        if dataset is not None:
            self.details = dataset.products.reindex(self.items).reindex(columns=list(DETAILS))
        else:
            self.details = pd.DataFrame(index=pd.Index(self.items, name=S.ITEM),
                                        columns=list(DETAILS))
        # Row = internal index. Text as plain Python objects: pandas' Arrow-backed strings cost a
        # conversion on every list's take and again on every JSON answer.
        self.details = self.details.reset_index(drop=True).astype(
            {c: object for c in (S.TITLE, S.CATEGORY) if c in self.details})
        # Object dtype: looking up a few shoppers in an Arrow-backed string index converts the
        # whole index on every call (milliseconds at 50k shoppers); an object index hashes once.
        self._users = pd.Index(np.asarray(split.users, dtype=object), dtype=object) \
            if split is not None else None
        self._columns = {c: self.details[c].to_numpy() for c in DETAILS}  # row = internal index

    # Histories ----------------------------------------------------------------------------
    def knows(self, user: object) -> bool:
        """Whether `user` has a stored history."""
        users = self._users if self._users is not None else self.model.user_index
        return user in users

    def history_of(self, user: object) -> History:
        """A shopper's stored history (empty for an unknown shopper)."""
        return self.histories_of([user])[0]

    def histories_of(self, users: Sequence[object]) -> list[History]:
        """Stored histories of many shoppers, in order (empty ones for unknown shoppers)."""
        if self.split is None:
            return [History(*self.model.context_of(u)) for u in users]
        pos = self._users.get_indexer(pd.Index(list(users), dtype=object))
        out = [History.empty()] * len(pos)
        known = np.flatnonzero(pos >= 0)
        if len(known):
            items, events, times = self.split.sequences.select_context(pos[known])
            for j, i in enumerate(known):
                out[i] = History(items[j], events[j], times[j])
        return out

    def encode(self, item_ids: Sequence[object], event_types: Sequence[object] | None = None,
               times: Sequence[object] | None = None) -> tuple[History, np.ndarray]:
        """A history given in the shop's terms, in the model's.

        Args:
            item_ids: the events' item IDs, oldest first.
            event_types: one of schema.EVENT_TYPES per event (unknown labels count as views),
                or None (all views).
            times: one timestamp per event (None/NaT where unknown), or None.

        Returns:
            (the History, (n,) bool: which given events it holds; events whose items the model
            does not know are left out).

        Raises:
            RecdashError: the three sequences differ in length.
        """
        ids = list(item_ids)
        n = len(ids)
        event_types = [S.VIEW] * n if event_types is None else list(event_types)
        times = [None] * n if times is None else list(times)
        if not (n == len(event_types) == len(times)):
            raise RecdashError(f"item_ids, event_types and times differ in length ({n}, "
                               f"{len(event_types)}, {len(times)}); pass one per event")
        codes = self.model.codes_of(ids)
        keep = codes >= 0
        codes_of = {name: code for code, name in enumerate(S.EVENT_TYPES)}
        events = np.array([codes_of.get(str(e), 0) for e in event_types],  # unknown: a view
                          dtype=np.int8)
        stamps = pd.to_datetime(pd.Series(times, dtype=object), utc=True)
        secs = np.where(stamps.notna(),
                        stamps.to_numpy(dtype="datetime64[ns]").astype("int64") / 1e9, np.nan)
        return History(codes[keep].astype(np.int32), events[keep],
                       secs.astype(np.float64)[keep]), keep

    def encode_frame(self, history: pd.DataFrame) -> tuple[History, np.ndarray]:
        """`encode` of a history frame (item_id, event_type, timestamp; oldest first)."""
        return self.encode(history[S.ITEM].tolist(),
                           history[S.EVENT].tolist() if S.EVENT in history else None,
                           history[S.TIME].tolist() if S.TIME in history else None)

    # Lists --------------------------------------------------------------------------------
    def top_k(self, histories: Sequence[History], k: int, exclude_seen: bool | None = None,
              batch: int = BATCH) -> tuple[np.ndarray, np.ndarray]:
        """`top_k` with this run's seen-item setting by default."""
        seen = self.exclude_seen if exclude_seen is None else exclude_seen
        return top_k(self.model, histories, k, seen, batch)

    def recommend(self, histories: Sequence[History], keys: Sequence[object] | None = None,
                  k: int = 10, exclude_seen: bool | None = None,
                  rerank: tuple[Reranker, int] | None = None) -> pd.DataFrame:
        """Top-k lists of histories, with the shop's IDs and product details.

        Args:
            histories: the histories to serve.
            keys: the user_id column, one per history (default 0, 1, ...).
            k: list length (1..MAX_K).
            exclude_seen: leave a history's own items out (default: the run's setting).
            rerank: (a re-ranking of one list, how many candidates it re-ranks), applied to
                each history's top candidates (`recdash.rerank.run.reranker` makes one).

        Returns:
            LIST_COLUMNS, k rows per history at most; rank counts from 1.
        """
        k = check_k(k)
        keys = list(range(len(histories))) if keys is None else list(keys)
        if len(keys) != len(histories):
            raise RecdashError(f"{len(keys)} keys for {len(histories)} histories; give one each")
        pool = max(k, rerank[1]) if rerank else k
        idx, val = self.top_k(histories, pool, exclude_seen)
        if rerank:
            idx, val = self._rerank(idx, val, histories, rerank[0], k)
        else:
            idx, val = idx[:, :k], val[:, :k]
        width = idx.shape[1]
        ok = np.isfinite(val).ravel() & (idx.ravel() >= 0)
        flat = idx.ravel()[ok]
        # One frame from plain arrays (no take and concat of frames: a list's time at 100k items)
        return pd.DataFrame({
            S.USER: np.repeat(np.asarray(keys, dtype=object), width)[ok],
            "rank": np.tile(np.arange(1, width + 1), len(keys))[ok],
            S.ITEM: self.items[flat],
            "score": val.ravel()[ok],
            **{c: self._columns[c][flat] for c in DETAILS},
        }, columns=list(LIST_COLUMNS))

    def _rerank(self, idx: np.ndarray, val: np.ndarray, histories: Sequence[History],
                reranker: Reranker, k: int) -> tuple[np.ndarray, np.ndarray]:
        out_i = np.full((len(idx), k), -1, dtype=np.int64)
        out_v = np.full((len(idx), k), -np.inf, dtype=np.float32)
        for row in range(len(idx)):
            ok = np.isfinite(val[row])
            cand, score = idx[row][ok], val[row][ok]
            chosen = np.asarray(reranker(cand, score, histories[row].items), dtype=np.int64)[:k]
            out_i[row, :len(chosen)] = chosen
            out_v[row, :len(chosen)] = score[pd.Index(cand).get_indexer(chosen)]
        return out_i, out_v

    def recommend_users(self, users: Sequence[object], k: int = 10,
                        exclude_seen: bool | None = None,
                        rerank: tuple[Reranker, int] | None = None) -> pd.DataFrame:
        """Top-k for shoppers from their stored histories (unknown shoppers: popular items)."""
        return self.recommend(self.histories_of(users), users, k, exclude_seen, rerank)

    def recommend_frame(self, history: pd.DataFrame, k: int = 10,
                        exclude_seen: bool | None = None,
                        rerank: tuple[Reranker, int] | None = None) -> pd.DataFrame:
        """One history frame's top-k (RECOMMENDATION_COLUMNS): the Shopper page's list."""
        encoded, _ = self.encode_frame(history)
        recs = self.recommend([encoded], None, k, exclude_seen, rerank)
        return recs[list(RECOMMENDATION_COLUMNS)]

    def recommend_all(self, k: int = 10, exclude_seen: bool | None = None,
                      rerank: tuple[Reranker, int] | None = None, batch: int = 4 * BATCH,
                      progress: Progress | None = None) -> Iterator[pd.DataFrame]:
        """Every stored shopper's top-k, `batch` shoppers per frame (for exports).

        Raises:
            RecdashError: the service has no split (no stored shoppers to serve).
        """
        if self.split is None:
            raise RecdashError("this service has no stored shoppers; load it with a run")
        users = self.split.users
        for lo in range(0, len(users), batch):
            part = users[lo:lo + batch]
            yield self.recommend_users(part, k, exclude_seen, rerank)
            if progress:
                done = lo + len(part)
                progress(done / len(users), f"scored {done:,} of {len(users):,} shoppers")

    def title_of(self, item_ids: Sequence[object]) -> list[str]:
        """Each item's title, or its ID where the catalog has none."""
        codes = self.model.codes_of(item_ids)
        titles = self.details[S.TITLE]
        return [str(titles.iat[c]) if c >= 0 and pd.notna(titles.iat[c]) else str(i)
                for c, i in zip(codes, item_ids)]
