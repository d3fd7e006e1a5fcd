"""Item features for the attention ranker and the padded batches it reads.

Features come from the catalog: category and brand as vocabulary codes, price as a quantile band,
and the text tower's embedding of "title. category. brand.". Code 0 always means missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from recdash.data import schema as S
from recdash.models.attention.model import gap_buckets


@dataclass(frozen=True)
class ItemFeatures:
    """Per-item feature codes aligned with the model's item indices.

    Attributes:
        category, brand, price_band: (I,) int64 codes, 0 = missing.
        text: (I, 384) float32 text embeddings, or None.
        n_categories, n_brands, n_price_bands: vocabulary sizes (without the missing code).
    """

    category: np.ndarray
    brand: np.ndarray
    price_band: np.ndarray
    text: np.ndarray | None
    n_categories: int
    n_brands: int
    n_price_bands: int


def _codes(values: pd.Series) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(values)
    return (codes + 1).astype(np.int64), len(uniques)  # -1 (missing) becomes 0


def build_item_features(items: np.ndarray, catalog: pd.DataFrame | None,
                        text: np.ndarray | None = None, n_price_bands: int = 5) -> ItemFeatures:
    """Feature codes for `items` (the split's item IDs, in model order) from the catalog.

    Args:
        items: (I,) item IDs.
        catalog: canonical catalog, or None (then every code is 0).
        text: (I, d) text embeddings aligned with `items`, or None.
        n_price_bands: price quantile bands over the catalog.
    """
    n = len(items)
    if catalog is None:
        zero = np.zeros(n, dtype=np.int64)
        return ItemFeatures(zero, zero, zero, text, 0, 0, 0)
    cat = catalog.drop_duplicates(S.ITEM).set_index(S.ITEM).reindex(pd.Index(items))
    category, n_cat = _codes(cat[S.CATEGORY])
    brand, n_brand = _codes(cat[S.BRAND])
    price = pd.to_numeric(cat[S.PRICE], errors="coerce")
    if price.notna().sum() >= n_price_bands:
        bands = pd.qcut(price, n_price_bands, labels=False, duplicates="drop")
        band = (bands.fillna(-1).to_numpy() + 1).astype(np.int64)
        n_band = int(band.max())
    else:
        band, n_band = np.zeros(n, dtype=np.int64), 0
    return ItemFeatures(category, brand, band, text, n_cat, n_brand, n_band)


def pad_batch(items: list[np.ndarray], events: list[np.ndarray] | None,
              times: list[np.ndarray] | None, max_len: int,
              device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """Left-padded model inputs for histories (each cut to its last max_len events).

    Returns:
        {"items": (B, T) index + 1, "events": (B, T) code + 1, "gaps": (B, T) buckets}; 0 pads.
    """
    b = len(items)
    t = max(1, min(max_len, max((len(s) for s in items), default=1)))
    it = np.zeros((b, t), dtype=np.int64)
    ev = np.zeros((b, t), dtype=np.int64)
    tm = np.full((b, t), np.nan)
    for r, seq in enumerate(items):
        seq = seq[-t:]
        if not len(seq):
            continue
        it[r, t - len(seq):] = seq + 1
        if events is not None:
            ev[r, t - len(seq):] = events[r][-len(seq):] + 1
        if times is not None:
            tm[r, t - len(seq):] = times[r][-len(seq):]
    items_t = torch.from_numpy(it)
    gaps = gap_buckets(torch.from_numpy(tm)) * (items_t != 0)
    if events is None:
        ev = (it != 0).astype(np.int64)  # unknown event types count as views
    return {"items": items_t.to(device), "events": torch.from_numpy(ev).to(device),
            "gaps": gaps.to(device)}


def features_to_tower(tower, feats: ItemFeatures, seen: np.ndarray) -> None:
    """Copy item features into an ItemTower's buffers (row 0 stays padding).

    Args:
        tower: the model's ItemTower.
        feats: features aligned with the model's items.
        seen: (I,) bool, items with training events; the others are scored by content only.
    """
    with torch.no_grad():
        dev = tower.id_mask.device
        tower.category_ids[1:] = torch.from_numpy(feats.category).to(dev)
        tower.brand_ids[1:] = torch.from_numpy(feats.brand).to(dev)
        tower.price_ids[1:] = torch.from_numpy(feats.price_band).to(dev)
        if feats.text is not None and tower.text_emb.shape[1]:
            tower.text_emb[1:] = torch.from_numpy(feats.text.astype(np.float32)).to(dev)
        tower.id_mask[1:, 0] = torch.from_numpy(seen.astype(np.float32)).to(dev)
