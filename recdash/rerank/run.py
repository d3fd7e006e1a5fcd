"""Re-ranking a finished run: its item context, and re-ranked lists through the serving path.

`run_context` builds the item context of a loaded run once (the studio caches it beside the run,
sharing the one loaded model); `reranker` turns a setting into the re-ranking step that
`recdash.recommend.Service.recommend` applies to each list's top candidates, so an export, the
CLI and the pages re-rank the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recdash.data import schema as S
from recdash.data.dataset import Dataset
from recdash.data.splits import Split
from recdash.recommend import Service
from recdash.rerank.setting import ItemContext, Setting, item_context, rerank
from recdash.workspace import Workspace


CANDIDATES = 200  # each list's top candidates a setting re-ranks (exports, CLI, pages)


@dataclass(frozen=True)
class RunContext:
    """A loaded run ready for re-ranking.

    Attributes:
        service: the run's serving path (model, dataset, split).
        items: the item context (similarities, categories, novelty).
        popularity: (I,) distinct training users per item.
        n_train_users: users with training events.
    """

    service: Service
    items: ItemContext
    popularity: np.ndarray
    n_train_users: int

    @property
    def model(self):
        return self.service.model

    @property
    def dataset(self) -> Dataset:
        return self.service.dataset

    @property
    def split(self) -> Split:
        return self.service.split


def _cached_text(ws: Workspace, ds: Dataset, items: np.ndarray) -> np.ndarray | None:
    """Text embeddings aligned with `items` when the dataset's cache has them (never encodes)."""
    from recdash.text import CACHE_FILE, embed_catalog

    cache = ws.dataset_dir(ds.name) / "text-cache"
    if not (cache / CACHE_FILE).exists():
        return None
    catalog = ds.products.reindex(items).reset_index()
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


def run_context(service: Service, ws: Workspace) -> RunContext:
    """The item context of a loaded run (`recdash.runs.load.load_run`), built once."""
    ds, split = service.dataset, service.split
    train = split.train()
    popularity = train_popularity(split)
    ctx = item_context(service.model, split.items, ds.catalog, popularity,
                       _cached_text(ws, ds, split.items))
    return RunContext(service, ctx, popularity, int((train.lengths > 0).sum()))


def reranker(setting: Setting, rc: RunContext) -> tuple:
    """The (re-ranking, candidates) pair that `Service.recommend(rerank=...)` takes. A setting
    the run cannot follow (a similarity it lacks) is adapted by `rerank` itself; `adapt` says
    how, for the message."""

    def one(candidates: np.ndarray, scores: np.ndarray, history: np.ndarray) -> np.ndarray:
        return rerank(setting, candidates, scores, rc.items, history)

    return one, max(setting.k, CANDIDATES)


def before_after(rc: RunContext, user: object, setting: Setting
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shopper `user`'s list in relevance order and under `setting`, from their stored history
    through the serving path (the Shopper page's list), each with rank, item_id, title,
    category and `changed` (the item is not in the other list)."""
    service = rc.service
    plain = service.recommend_users([user], setting.k)
    reranked = service.recommend_users([user], setting.k, rerank=reranker(setting, rc))

    def table(recs: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
        out = recs[["rank", S.ITEM, S.TITLE, S.CATEGORY]].reset_index(drop=True)
        out["changed"] = ~out[S.ITEM].isin(other[S.ITEM]).to_numpy()
        return out

    return table(plain, reranked), table(reranked, plain)
