"""Ranking and beyond-accuracy metrics as pure functions over top-K lists.

Accuracy metrics are computed per user from the recommended list itself (the list a shopper would
see), so ties are broken exactly as the recommender breaks them. Definitions:
HR@K = 1 if any target is in the top K; Recall@K = targets in the top K / number of targets;
NDCG@K = DCG of the hits / DCG of a perfect list (Jarvelin & Kekalainen, 2002) with binary gains;
MRR@K = 1 / rank of the first hit (0 if none in the top K).
Beyond accuracy: catalog coverage, intra-list diversity (Ziegler et al., WWW 2005), novelty as
mean self-information (Zhou et al., PNAS 2010), average popularity.
"""

from __future__ import annotations

import numpy as np


def hit_matrix(topk: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(U, K) bool: is the j-th recommendation of user u one of u's targets.

    Args:
        topk: (U, K) recommended item indices, best first.
        targets: (U, T) target item indices padded with -1 (each target listed once).
    """
    return (topk[:, :, None] == targets[:, None, :]).any(axis=2) & (topk >= 0)


def accuracy(hits: np.ndarray, n_targets: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Per-user HR, Recall, NDCG and MRR at k from a (U, >=k) hit matrix."""
    h = hits[:, :k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (h * discounts).sum(axis=1)
    ideal = np.cumsum(discounts)[np.minimum(n_targets, k) - 1]
    first = np.where(h.any(axis=1), h.argmax(axis=1) + 1, 0)
    return {
        f"HR@{k}": h.any(axis=1).astype(np.float64),
        f"Recall@{k}": h.sum(axis=1) / n_targets,
        f"NDCG@{k}": dcg / ideal,
        f"MRR@{k}": np.divide(1.0, first, out=np.zeros(len(first)), where=first > 0),
    }


def catalog_coverage(topk: np.ndarray, n_items: int) -> float:
    """Share of the catalog that appears in at least one list."""
    return float(len(np.unique(topk[topk >= 0]))) / n_items


def intra_list_diversity_labels(topk: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-list share of item pairs with different labels (e.g. categories); (U,)."""
    lab = labels[topk]  # (U, K)
    k = lab.shape[1]
    if k < 2:
        return np.zeros(len(lab))
    same = (lab[:, :, None] == lab[:, None, :]).sum(axis=(1, 2)) - k
    return 1.0 - same / (k * (k - 1))


def intra_list_diversity_vectors(topk: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Per-list mean pairwise cosine distance of item vectors; (U,)."""
    v = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    lists = v[topk]  # (U, K, d)
    k = lists.shape[1]
    if k < 2:
        return np.zeros(len(lists))
    sims = np.einsum("ukd,ujd->u", lists, lists) - np.einsum("ukd,ukd->u", lists, lists)
    return 1.0 - sims / (k * (k - 1))


def self_information(item_users: np.ndarray, n_users: int) -> np.ndarray:
    """-log2 p(i) per item, p(i) = share of training users with item i (add-one smoothed)."""
    return -np.log2((item_users + 1.0) / (n_users + 1.0))


def novelty(topk: np.ndarray, info: np.ndarray) -> np.ndarray:
    """Per-list mean self-information of the recommended items; (U,)."""
    return info[topk].mean(axis=1)


def average_popularity(topk: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per-list mean training interaction count of the recommended items; (U,)."""
    return counts[topk].mean(axis=1)
