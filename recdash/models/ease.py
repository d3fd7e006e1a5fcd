"""EASE: a closed-form linear item-item model (Steck, "Embarrassingly Shallow Autoencoders for
Sparse Data", WWW 2019).

B = argmin ||X - XB||^2 + lambda ||B||^2 with diag(B) = 0 has the solution
B = I - P diag(1/diag(P)), P = (X^T X + lambda I)^-1. It needs an items x items matrix, so it
refuses catalogs above `max_items` and says what that would cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from recdash.errors import CapacityError
from recdash.models.base import Progress, Recommender, TrainData, history_matrix
from recdash.settings import check_types, require


@dataclass(frozen=True)
class EASEConfig:
    """Settings of EASE.

    Attributes:
        l2: the ridge penalty lambda (Steck used 200-1000 depending on the data).
        max_items: refuse larger catalogs (the dense items x items matrices need
            about 3 x 4 x items^2 bytes while fitting).
    """

    l2: float = 500.0
    max_items: int = 30_000

    def __post_init__(self) -> None:
        check_types(self)
        require(self, "l2", self.l2 > 0.0, "above 0, e.g. 500")
        require(self, "max_items", self.max_items >= 1, "1 or more items, e.g. 30000")


class EASE(Recommender):
    """score(u) = x_u B for the user's binary history vector x_u."""

    name = "ease"

    def __init__(self, config: EASEConfig = EASEConfig()) -> None:
        super().__init__()
        self.config = config
        self.weights_: np.ndarray | None = None

    def _fit(self, data: TrainData, progress: Progress | None) -> None:
        n = data.n_items
        if n > self.config.max_items:
            need = 3 * 4 * n * n / 1e9
            raise CapacityError(
                f"EASE needs a dense {n:,} x {n:,} item matrix (about {need:,.0f} GB while "
                f"fitting); the limit is {self.config.max_items:,} items. Use itemknn, or the "
                "attention ranker, for catalogs this large (or raise EASEConfig.max_items if the "
                "machine has the memory)")
        if progress:
            progress(0.0, f"Gram matrix of {n:,} items")
        x = history_matrix([data.sequences[u] for u in range(len(data.sequences))], n)
        dtype = torch.float64 if n <= 8_000 else torch.float32
        gram = torch.from_numpy((x.T @ x).toarray()).to(dtype)  # (I, I)
        gram.diagonal().add_(self.config.l2)
        if progress:
            progress(0.3, f"inverting the {n:,} x {n:,} Gram matrix")
        p = torch.cholesky_inverse(torch.linalg.cholesky(gram))
        weights = -p / p.diagonal()[None, :]
        weights.diagonal().zero_()
        self.weights_ = weights.to(torch.float32).numpy()
        if progress:
            progress(1.0, "done")

    def _score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        # Sparse history rows times the dense weights: cost grows with history length, not I.
        return np.asarray(history_matrix(histories, self.n_items) @ self.weights_,
                          dtype=np.float32)
