"""Candidate pools scored once per run, and the accuracy/diversity trade-off over them.

For a sample of test shoppers (leave-one-out or temporal split, as the run was evaluated), the
model scores the whole catalog once; each shopper keeps its top `n_candidates` (seen items
excluded). A re-ranking setting then only permutes those pools, so a new setting is scored in
well under a second: NDCG@10 and HR@10 against the held-out event (a target outside the pool is a
miss, so with no re-ranking these are the full-ranking figures), intra-list diversity, category
coverage, catalog coverage, novelty and calibration KL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from recdash.data.splits import Split
from recdash.recommend import History, top_k
from recdash.rerank import metrics
from recdash.rerank.setting import ItemContext, Setting, category_distribution, rerank

N_USERS = 1000
N_CANDIDATES = 500
BATCH = 256


@dataclass(frozen=True)
class Pools:
    """Each sampled shopper's candidate pool.

    Attributes:
        users: (U,) the shoppers' IDs.
        histories: their histories (internal indices) before the target.
        candidates: (U, n) internal indices, best first.
        scores: (U, n) the model's scores of the candidates.
        targets: (U,) the held-out item (internal index).
        n_items: catalog size (for catalog coverage).
    """

    users: np.ndarray
    histories: list[np.ndarray]
    candidates: np.ndarray
    scores: np.ndarray
    targets: np.ndarray
    n_items: int


def build_pools(model, split: Split, n_users: int = N_USERS, n_candidates: int = N_CANDIDATES,
                seed: int = 0, progress: Callable[[float, str], None] | None = None) -> Pools:
    """Score a sample of the split's test shoppers once and keep their top candidates."""
    st = split.test
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(st.users), min(n_users, len(st.users)), replace=False))
    n_candidates = min(n_candidates, split.n_items)
    hists, cands, scores, targets = [], [], [], []
    for lo in range(0, len(rows), BATCH):
        part = rows[lo:lo + BATCH]
        hist, events, times = split.sequences.select_context(st.users[part], st.cut[part])
        idx, val = top_k(model, [History(*h) for h in zip(hist, events, times)], n_candidates)
        cands.append(idx)
        scores.append(val)
        hists += list(hist)
        targets.append(np.array([st.targets[int(r)][0] for r in part]))
        if progress:
            progress(min(1.0, (lo + len(part)) / len(rows)),
                     f"scored {lo + len(part):,} of {len(rows):,} shoppers")
    return Pools(split.users[st.users[rows]], hists, np.concatenate(cands),
                 np.concatenate(scores), np.concatenate(targets), split.n_items)


def user_list(pools: Pools, u: int, setting: Setting, ctx: ItemContext) -> np.ndarray:
    """Shopper `u`'s re-ranked list (internal indices, at most setting.k)."""
    ok = np.isfinite(pools.scores[u])  # a catalog smaller than the pool leaves -inf slots
    return rerank(setting, pools.candidates[u][ok], pools.scores[u][ok], ctx,
                  pools.histories[u])


def apply(pools: Pools, setting: Setting, ctx: ItemContext) -> np.ndarray:
    """(U, k) every shopper's re-ranked list (internal indices; -1 where a list is shorter)."""
    out = np.full((len(pools.users), setting.k), -1, dtype=np.int64)
    for u in range(len(pools.users)):
        lst = user_list(pools, u, setting, ctx)
        out[u, :len(lst)] = lst
    return out


def score_lists(pools: Pools, lists: np.ndarray, ctx: ItemContext, similarity: str,
                popularity: np.ndarray, n_train_users: int) -> dict[str, float]:
    """Accuracy and beyond-accuracy metrics of re-ranked lists.

    Args:
        pools: the pools the lists came from.
        lists: (U, k) from `apply`.
        ctx: the item context.
        similarity: which vectors intra-list diversity uses.
        popularity: (I,) distinct training users per item (novelty).
        n_train_users: users in training (novelty).
    """
    k = lists.shape[1]
    hit = lists == pools.targets[:, None]
    rank = np.where(hit.any(1), hit.argmax(1), -1)
    ndcg = np.zeros(len(rank))
    ndcg[rank >= 0] = 1 / np.log2(rank[rank >= 0] + 2)
    ild, cov, nov, kl = [], [], [], []
    vectors = ctx.vectors[similarity]
    for u, lst in enumerate(lists):
        lst = lst[lst >= 0]
        if len(lst) > 1:
            ild.append(metrics.intra_list_diversity(vectors[lst]))
        if len(lst):
            cov.append(metrics.category_coverage(ctx.categories[lst]))
            nov.append(metrics.novelty(lst, popularity, n_train_users))
            kl.append(metrics.calibration_kl(category_distribution(pools.histories[u], ctx),
                                             ctx.categories[lst], ctx.n_categories))
    return {f"NDCG@{k}": float(ndcg.mean()), f"HR@{k}": float((rank >= 0).mean()),
            "ILD": float(np.mean(ild)) if ild else 0.0,
            "category coverage": float(np.mean(cov)) if cov else 0.0,
            "catalog coverage": metrics.catalog_coverage([x[x >= 0] for x in lists],
                                                         pools.n_items),
            "novelty": float(np.mean(nov)) if nov else 0.0,
            "calibration KL": float(np.mean(kl)) if kl else 0.0}


def tradeoff(pools: Pools, settings: Sequence[Setting], ctx: ItemContext,
             popularity: np.ndarray, n_train_users: int,
             progress: Callable[[float, str], None] | None = None) -> pd.DataFrame:
    """One row of metrics per setting (the points of a trade-off curve)."""
    rows = []
    for i, setting in enumerate(settings):
        lists = apply(pools, setting, ctx)
        rows.append({"method": setting.method, "strength": setting.strength,
                     "setting": setting.label(),
                     **score_lists(pools, lists, ctx, setting.similarity, popularity,
                                   n_train_users)})
        if progress:
            progress((i + 1) / len(settings), f"scored {setting.label()}")
    return pd.DataFrame(rows)
