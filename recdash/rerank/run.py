"""Re-ranking a finished run: its item context, and re-ranked lists for the export and the CLI.

`run_context` loads a run's model and builds the item context once (the studio caches it);
`rerank_ranked` turns each user's top candidates (from `Recommender.rank`) into the re-ranked
top-k, keeping the table's columns, so an export with a preset reads like one without.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recdash.data import schema as S
from recdash.data.dataset import Dataset
from recdash.data.splits import Split
from recdash.rerank.pools import Pools, user_list
from recdash.rerank.setting import ItemContext, Setting, item_context, rerank
from recdash.workspace import Workspace


@dataclass(frozen=True)
class RunContext:
    """A finished run ready for re-ranking.

    Attributes:
        model, dataset, split: as `recdash.eval.run.load_run` gives them.
        items: the item context (similarities, categories, novelty).
        popularity: (I,) distinct training users per item.
        n_train_users: users with training events.
    """

    model: object
    dataset: Dataset
    split: Split
    items: ItemContext
    popularity: np.ndarray
    n_train_users: int


def _cached_text(ws: Workspace, ds: Dataset, items: np.ndarray) -> np.ndarray | None:
    """Text embeddings aligned with `items` when the dataset's cache has them (never encodes)."""
    from recdash.text import CACHE_FILE, embed_catalog

    cache = ws.dataset_dir(ds.name) / "text-cache"
    if not (cache / CACHE_FILE).exists():
        return None
    catalog = ds.catalog.drop_duplicates(S.ITEM).set_index(S.ITEM).reindex(items).reset_index()
    try:
        emb, _ = embed_catalog(catalog, cache, encoder=_NoEncoder())
    except _Uncached:
        return None
    return emb


class _Uncached(Exception):
    pass


class _NoEncoder:
    """Stands in for the text encoder: the studio never encodes text while re-ranking."""

    def encode(self, *args, **kwargs):
        raise _Uncached


def train_popularity(split: Split) -> np.ndarray:
    """(I,) how many distinct users have each item in their training events."""
    train = split.train()
    users = np.repeat(np.arange(len(train)), train.lengths).astype(np.int64)
    pairs = np.unique(users * split.n_items + train.items.astype(np.int64))
    return np.bincount(pairs % split.n_items, minlength=split.n_items).astype(float)


def run_context(ws: Workspace, run_id: str) -> RunContext:
    """Load run `run_id` and build its item context."""
    from recdash.eval.run import load_run

    model, ds, split = load_run(ws, run_id)
    train = split.train()
    popularity = train_popularity(split)
    ctx = item_context(model, split.items, ds.catalog, popularity,
                       _cached_text(ws, ds, split.items))
    return RunContext(model, ds, split, ctx, popularity, int((train.lengths > 0).sum()))


def before_after(rc: RunContext, pools: Pools, u: int, setting: Setting
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shopper `u`'s list in relevance order and under `setting`, each with rank, item_id,
    title, category and `changed` (the item is not in the other list)."""
    before = user_list(pools, u, Setting("none", 1.0, setting.similarity, setting.k), rc.items)
    after = user_list(pools, u, setting, rc.items)
    cat = rc.dataset.catalog.drop_duplicates(S.ITEM).set_index(S.ITEM)

    def table(items: np.ndarray, other: np.ndarray) -> pd.DataFrame:
        ids = rc.split.items[items]
        return pd.DataFrame({"rank": np.arange(1, len(ids) + 1), S.ITEM: ids,
                             S.TITLE: cat[S.TITLE].reindex(ids).to_numpy(),
                             S.CATEGORY: cat[S.CATEGORY].reindex(ids).to_numpy(),
                             "changed": ~np.isin(items, other)})

    return table(before, after), table(after, before)


def rerank_ranked(ranked: pd.DataFrame, setting: Setting, rc: RunContext,
                  histories: dict[object, np.ndarray] | None = None) -> pd.DataFrame:
    """Each user's re-ranked top-k from their ranked candidates.

    Args:
        ranked: `Recommender.rank` output with many candidates per user (user_id, rank,
            item_id, score).
        setting: the re-ranking setting.
        rc: the run's context.
        histories: user -> internal item indices (calibration's target mix).

    Returns:
        The same columns, `setting.k` rows per user at most, rank renumbered from 1; score is
        still the model's.
    """
    index = pd.Index(rc.split.items)
    parts = []
    for user, group in ranked.groupby(S.USER, sort=False):
        cand = index.get_indexer(group[S.ITEM])
        chosen = rerank(setting, cand, group["score"].to_numpy(), rc.items,
                        (histories or {}).get(user))
        pos = pd.Index(cand).get_indexer(chosen)
        out = group.iloc[pos].copy()
        out["rank"] = np.arange(1, len(out) + 1)
        parts.append(out)
    return pd.concat(parts, ignore_index=True) if parts else ranked.iloc[:0]
