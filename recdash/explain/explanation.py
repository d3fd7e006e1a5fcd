"""The shape every attribution has: shap's Explanation, as parallel numpy arrays.

One explanation row holds a value per player (a history event or an item-side signal), the base
value (the model's score with every player removed), what each player is (`data`) and its readable
name. Several recommended items of one shopper share the players, so a batch is a (rows, players)
array that slices like shap's: `expl[0]` is the first item's explanation, `expl[0, :3]` its
first three players. `to_shap()` hands it to shap's own plots.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Explanation:
    """Attributions of one or more scores to their players (the Shapley efficiency property:
    base_values + values.sum(-1) equals each score).

    Attributes:
        values: (players,) or (rows, players) Shapley values (() once sliced to one player).
        base_values: () or (rows,) score with every player removed.
        data: same shape as values: what each player is (an item ID, a signal's value).
        feature_names: same shape as values: readable names ("Toaster (purchase)", "text").
        item_id: () or (rows,) the explained item(s), as the shop's IDs.
        kind: "history" (players are history events) or "item" (item-side signals).
        algorithm: the shap algorithm, named ("permutation").
        n_evals: model evaluations spent per explanation (the same for every row).
        seed: the random seed of the permutations.
        positions: (players,) for history players, each event's index in the history given.
        events: (players,) for history players, each event's type (view/cart/purchase).
    """

    values: np.ndarray
    base_values: np.ndarray
    data: np.ndarray
    feature_names: np.ndarray
    item_id: np.ndarray
    kind: str
    algorithm: str
    n_evals: int
    seed: int
    positions: np.ndarray | None = None
    events: np.ndarray | None = None

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64)
        if values.ndim > 2:
            raise ValueError(f"values must be (players,) or (rows, players), got {values.shape}")
        for name in ("data", "feature_names"):
            arr = np.asarray(getattr(self, name), dtype=object)
            if arr.shape != values.shape:
                arr = np.broadcast_to(arr, values.shape).copy()
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "base_values", np.asarray(self.base_values, dtype=np.float64))
        object.__setattr__(self, "item_id", np.asarray(self.item_id, dtype=object))
        rows = values.shape[:-1] if values.ndim else ()  # a single player has one value
        for name in ("base_values", "item_id"):
            if getattr(self, name).shape != rows:
                raise ValueError(f"{name} must have shape {rows} to match values "
                                 f"{values.shape}, got {getattr(self, name).shape}")

    @property
    def shape(self) -> tuple[int, ...]:
        return self.values.shape

    @property
    def scores(self) -> np.ndarray:
        """base_values + the sum of the values: the model's score(s) being explained."""
        return self.base_values + self.values.sum(-1)

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, key) -> Explanation:
        """Rows first, then players, as in shap: expl[0], expl[1:3], expl[0, :5]."""
        rows, cols = (key if isinstance(key, tuple) else (key, slice(None))) \
            if self.values.ndim == 2 else (None, key)
        if self.values.ndim == 0:
            raise IndexError("this explanation is one player's value; slice its parent instead")
        if isinstance(cols, tuple):
            raise IndexError("too many indices: use expl[row, players]")
        if rows is None:  # one row: index its players
            return replace(self, values=self.values[cols], data=self.data[cols],
                           feature_names=self.feature_names[cols],
                           positions=_take(self.positions, cols), events=_take(self.events, cols))
        values = self.values[rows]
        return replace(
            self, values=values[..., cols], base_values=self.base_values[rows],
            data=self.data[rows][..., cols], feature_names=self.feature_names[rows][..., cols],
            item_id=self.item_id[rows], positions=_take(self.positions, cols),
            events=_take(self.events, cols))

    def to_shap(self):
        """This explanation as a `shap.Explanation` (for shap's own plots)."""
        import shap

        names = self.feature_names if self.values.ndim == 1 else self.feature_names[0]
        base = float(self.base_values) if self.base_values.ndim == 0 else self.base_values
        return shap.Explanation(self.values, base, data=self.data,
                                feature_names=[str(n) for n in names])


def _take(arr: np.ndarray | None, cols) -> np.ndarray | None:
    return None if arr is None else np.asarray(arr)[cols]
