"""Metrics against hand-computed values and against a slow reference on random data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recdash.eval import metrics as M


def test_single_target_known_answers():
    topk = np.array([[5, 3, 9], [1, 2, 4], [7, 8, 6]])
    targets = np.array([[3], [0], [7]])
    hits = M.hit_matrix(topk, targets)
    out = M.accuracy(hits, np.array([1, 1, 1]), 3)
    assert out["HR@3"].tolist() == [1, 0, 1]
    assert out["NDCG@3"] == pytest.approx([1 / math.log2(3), 0.0, 1.0])
    assert out["MRR@3"] == pytest.approx([0.5, 0.0, 1.0])
    assert M.accuracy(hits, np.array([1, 1, 1]), 1)["HR@1"].tolist() == [0, 0, 1]


def test_multi_target_known_answers():
    topk = np.array([[1, 2, 3, 4]])
    targets = np.array([[2, 4, 9]])  # two of three targets found, at ranks 2 and 4
    out = M.accuracy(M.hit_matrix(topk, targets), np.array([3]), 4)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert out["Recall@4"][0] == pytest.approx(2 / 3)
    assert out["NDCG@4"][0] == pytest.approx(dcg / idcg)
    assert out["MRR@4"][0] == pytest.approx(0.5)


def _slow(topk_row, target_set, k):
    hits = [i in target_set for i in topk_row[:k]]
    dcg = sum(1 / math.log2(r + 2) for r, h in enumerate(hits) if h)
    idcg = sum(1 / math.log2(r + 2) for r in range(min(len(target_set), k)))
    first = next((r + 1 for r, h in enumerate(hits) if h), None)
    return {"HR": float(any(hits)), "Recall": sum(hits) / len(target_set), "NDCG": dcg / idcg,
            "MRR": 1 / first if first else 0.0}


def test_vectorised_metrics_match_a_slow_reference_on_random_data():
    rng = np.random.default_rng(7)
    n_items, users, k = 30, 200, 10
    topk = np.stack([rng.permutation(n_items)[:k] for _ in range(users)])
    sets = [set(rng.choice(n_items, rng.integers(1, 5), replace=False).tolist())
            for _ in range(users)]
    pad = np.full((users, 4), -1)
    for u, s in enumerate(sets):
        pad[u, : len(s)] = sorted(s)
    n = np.array([len(s) for s in sets])
    for kk in (1, 5, 10):
        fast = M.accuracy(M.hit_matrix(topk, pad), n, kk)
        for name in ("HR", "Recall", "NDCG", "MRR"):
            slow = [_slow(topk[u], sets[u], kk)[name] for u in range(users)]
            assert fast[f"{name}@{kk}"] == pytest.approx(slow), (name, kk)


def test_beyond_accuracy_known_answers():
    topk = np.array([[0, 1, 2], [0, 1, 3]])
    assert M.catalog_coverage(topk, 8) == pytest.approx(4 / 8)
    labels = np.array([0, 0, 1, 1])
    # List 1: labels 0,0,1 -> 4 of 6 ordered pairs differ; list 2: 0,0,1 as well.
    assert M.intra_list_diversity_labels(topk, labels) == pytest.approx([4 / 6, 4 / 6])
    vectors = np.array([[1, 0], [1, 0], [0, 1], [-1, 0]], dtype=float)
    # List 2: pairs (0,1) sim 1, (0,3) -1, (1,3) -1 -> mean sim -1/3 -> distance 4/3.
    assert M.intra_list_diversity_vectors(topk, vectors)[1] == pytest.approx(4 / 3)
    info = M.self_information(np.array([3, 1, 0, 7]), 7)
    assert info[3] == pytest.approx(0.0) and info[2] == pytest.approx(3.0)
    assert M.novelty(topk[:1], info)[0] == pytest.approx(info[:3].mean())
    assert M.average_popularity(topk[:1], np.array([3, 1, 0, 7]))[0] == pytest.approx(4 / 3)
