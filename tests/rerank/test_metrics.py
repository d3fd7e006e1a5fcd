"""Re-ranking metrics against hand-computed values on tiny lists."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recdash.rerank import metrics as M


def test_intra_list_diversity_known_answers():
    assert M.intra_list_diversity(np.array([[1.0, 0.0], [0.0, 3.0]])) == pytest.approx(1.0)
    assert M.intra_list_diversity(np.array([[1.0, 0.0], [2.0, 0.0]])) == pytest.approx(0.0)
    assert M.intra_list_diversity(np.array([[1.0, 0.0], [-1.0, 0.0]])) == pytest.approx(2.0)
    # pairs: (a, b) cos 0, (a, c) cos 1/sqrt(2), (b, c) cos 1/sqrt(2)
    three = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    expected = (1.0 + 2 * (1 - 1 / math.sqrt(2))) / 3
    assert M.intra_list_diversity(three) == pytest.approx(expected)
    assert M.intra_list_diversity(np.array([[1.0, 0.0]])) == 0.0


def test_intra_list_diversity_batches_over_users():
    rng = np.random.default_rng(0)
    lists = rng.normal(size=(4, 6, 3))
    batch = M.intra_list_diversity(lists)
    assert batch.shape == (4,)
    for u in range(4):
        v = lists[u] / np.linalg.norm(lists[u], axis=1, keepdims=True)
        cos = v @ v.T
        slow = np.mean([1 - cos[i, j] for i in range(6) for j in range(i + 1, 6)])
        assert batch[u] == pytest.approx(slow)


def test_category_coverage_known_answers():
    assert M.category_coverage(np.array([3, 3, 1, 2])) == 0.75
    assert M.category_coverage(np.array([5, 5])) == 0.5
    assert math.isnan(M.category_coverage(np.array([], dtype=int)))


def test_catalog_coverage_counts_distinct_items_over_all_lists():
    assert M.catalog_coverage([np.array([0, 1]), np.array([1, 2, 3])], 8) == 0.5
    assert M.catalog_coverage(np.array([[0, 1], [1, -1]]), 4) == 0.5  # -1 is padding
    with pytest.raises(ValueError, match="n_items"):
        M.catalog_coverage([np.array([0, 9])], 5)


def test_novelty_is_mean_self_information():
    pop = np.array([8, 4, 0, 1])
    # -log2(8/8) = 0, -log2(4/8) = 1, pop 0 counts as 1: -log2(1/8) = 3
    assert M.novelty(np.array([0, 1, 2]), pop, 8) == pytest.approx(4 / 3)
    assert M.novelty(np.array([3]), pop, 8) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="n_users"):
        M.novelty(np.array([0]), pop, 4)


def test_calibration_kl_known_answers():
    target = np.array([0.5, 0.5])
    assert M.calibration_kl(target, np.array([0, 1]), 2) == pytest.approx(0.0)
    # list all category 0: q~ = (0.99 * 1 + 0.005, 0.005)
    expected = 0.5 * math.log(0.5 / 0.995) + 0.5 * math.log(0.5 / 0.005)
    assert M.calibration_kl(target, np.array([0, 0, 0]), 2) == pytest.approx(expected)
    # categories the user never saw add nothing beyond diluting q~
    kl = M.calibration_kl(np.array([1.0, 0.0]), np.array([0, 1]), 2, alpha=0.5)
    assert kl == pytest.approx(math.log(1 / 0.75))
    with pytest.raises(ValueError, match="one per category"):
        M.calibration_kl(target, np.array([0]), 3)
