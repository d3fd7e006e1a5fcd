"""The attention ranker's network: a causal transformer over a shopper's event sequence (SASRec,
Kang & McAuley, ICDM 2018) whose items are described by ID, text, category, brand and price band.

Tensors in, tensors out: no data loading, training or serving here. Item index 0 is padding;
internal item i is row i + 1 of every item table. Because an item's vector is built from its
content as well as its ID, an item never seen in training still gets a score (its untrained ID
embedding is masked out, so it is scored by content alone).

A score is the dot product of a session vector and an item vector. With `score_scale` set, both
are L2-normalised first and the session vector carries the scale (NISER, Gupta et al., "NISER:
Normalized Item and Session Representations to Handle Popularity Bias", 2019), so a score is a
scaled cosine, at most `score_scale` in size. `session_vectors` and `output_items` are the one
place this happens; training and serving both score through them.

With `repeat_bonus` on, an item the history already holds gets a learned bonus on top, by how
recently it was seen (one weight per recency bucket, summed over its occurrences), as
session-graph models see a return to an item as a loop (SR-GNN, Wu et al. 2019; RepeatNet, Ren
et al. 2019). `repeat_pairs` is the one place the bonus is read; training and serving both add
it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from recdash.models.attention.config import AttentionConfig

N_EVENT_TYPES = 3  # view, cart, purchase (schema.EVENT_TYPES); +1 for padding
N_GAP_BUCKETS = 34  # 0 = padding, 1 = unknown/first, 2.. = log2 of seconds since last event
N_REPEAT_BUCKETS = 16  # events since an item was seen: 0, 1, 2, 3, then 4-7, 8-15, ... (log2)


class ItemTower(nn.Module):
    """(I + 1, dim) item vectors from ID, text, category, brand and price band."""

    def __init__(self, cfg: AttentionConfig) -> None:
        super().__init__()
        n = cfg.n_items + 1
        self.cfg = cfg
        self.id = nn.Embedding(n, cfg.dim, padding_idx=0) if cfg.use_id else None
        self.text = nn.Linear(cfg.text_dim, cfg.dim) if cfg.use_text else None
        self.category = nn.Embedding(cfg.n_categories + 1, cfg.dim, padding_idx=0) \
            if cfg.use_category and cfg.n_categories else None
        self.brand = nn.Embedding(cfg.n_brands + 1, cfg.dim, padding_idx=0) \
            if cfg.use_brand and cfg.n_brands else None
        self.price = nn.Embedding(cfg.n_price_bands + 1, cfg.dim, padding_idx=0) \
            if cfg.use_price and cfg.n_price_bands else None
        # Item features are data, not parameters; they travel in the checkpoint.
        self.register_buffer("text_emb", torch.zeros(n, cfg.text_dim if cfg.use_text else 0))
        self.register_buffer("category_ids", torch.zeros(n, dtype=torch.long))
        self.register_buffer("brand_ids", torch.zeros(n, dtype=torch.long))
        self.register_buffer("price_ids", torch.zeros(n, dtype=torch.long))
        # 1 for items seen in training, 0 for cold items (their ID embedding was never trained).
        self.register_buffer("id_mask", torch.ones(n, 1))
        self.norm = nn.LayerNorm(cfg.dim)

    def parts(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each switched-on signal's contribution to the vectors of `idx`, before the norm:
        name ("id", "text", "category", "brand", "price") -> (*idx.shape, dim)."""
        out = {}
        if self.id is not None:
            out["id"] = self.id(idx) * self.id_mask[idx]
        if self.text is not None:
            out["text"] = self.text(self.text_emb[idx])
        if self.category is not None:
            out["category"] = self.category(self.category_ids[idx])
        if self.brand is not None:
            out["brand"] = self.brand(self.brand_ids[idx])
        if self.price is not None:
            out["price"] = self.price(self.price_ids[idx])
        return out

    def forward(self, items: torch.Tensor | None = None) -> torch.Tensor:
        """Vectors of `items` (any shape of indices), or of the whole table when None."""
        idx = items if items is not None else torch.arange(
            self.cfg.n_items + 1, device=self.id_mask.device)
        out = self.norm(torch.stack(list(self.parts(idx).values())).sum(0))
        return out * (idx != 0).unsqueeze(-1)  # padding is the zero vector


class Block(nn.Module):
    """Pre-norm transformer block whose attention weights can be returned."""

    def __init__(self, cfg: AttentionConfig) -> None:
        super().__init__()
        self.heads = cfg.n_heads
        self.qkv = nn.Linear(cfg.dim, 3 * cfg.dim)
        self.proj = nn.Linear(cfg.dim, cfg.dim)
        self.ff = nn.Sequential(nn.Linear(cfg.dim, 4 * cfg.dim), nn.GELU(),
                                nn.Dropout(cfg.dropout), nn.Linear(4 * cfg.dim, cfg.dim))
        self.norm1, self.norm2 = nn.LayerNorm(cfg.dim), nn.LayerNorm(cfg.dim)
        self.drop = nn.Dropout(cfg.dropout)
        self.p_attn = cfg.dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor, want_weights: bool = False,
                last_only: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, T, d) -> (B, T, d), or (B, 1, d) for the last position only (serving)."""
        b, t, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(d, dim=2)
        if last_only:  # keys and values of every position, the query of the last one
            q, x, mask = q[:, -1:], x[:, -1:], mask[:, :, -1:]
        tq = q.shape[1]
        # (B, T, d) -> (B, H, T, d/H)
        q = q.view(b, tq, self.heads, d // self.heads).transpose(1, 2)
        k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (k, v))
        weights = None
        if want_weights:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))  # (B, H, T, T)
            weights = att.masked_fill(~mask, float("-inf")).softmax(-1)
            y = weights @ v
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                               dropout_p=self.p_attn if self.training else 0.0)
        y = y.transpose(1, 2).reshape(b, tq, d)
        x = x + self.drop(self.proj(y))
        x = x + self.drop(self.ff(self.norm2(x)))
        return x, weights


class AttentionRankerNet(nn.Module):
    """Sequence encoder + item tower; scores are dot products of the two."""

    def __init__(self, cfg: AttentionConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.items = ItemTower(cfg)
        self.position = nn.Embedding(cfg.max_len, cfg.dim)
        self.event = nn.Embedding(N_EVENT_TYPES + 1, cfg.dim, padding_idx=0) \
            if cfg.use_event else None
        self.gap = nn.Embedding(N_GAP_BUCKETS, cfg.dim, padding_idx=0) \
            if cfg.use_time_gap else None
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.drop = nn.Dropout(cfg.dropout)
        self.norm = nn.LayerNorm(cfg.dim)
        self.apply(_init)
        # Starts at 0: the network begins as one without the bonus.
        self.repeat_bonus = nn.Parameter(torch.zeros(N_REPEAT_BUCKETS)) \
            if cfg.repeat_bonus == "on" else None

    def encode(self, items: torch.Tensor, events: torch.Tensor | None = None,
               gaps: torch.Tensor | None = None, return_attention: bool = False,
               last_only: bool = False) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Hidden state at every position.

        Args:
            items: (B, T) item indices + 1, left-padded with 0 (the newest event is last).
            events: (B, T) event type codes + 1 (0 = padding), or None.
            gaps: (B, T) time-gap buckets (0 = padding), or None.
            return_attention: also return each layer's (B, H, T, T) attention weights.
            last_only: compute the last block for the newest position only (serving needs
                nothing else), returning (B, 1, dim).

        Returns:
            ((B, T, dim) hidden states, list of attention weights per layer or []).
        """
        b, t = items.shape
        valid = items != 0  # (B, T)
        pos = torch.arange(t, device=items.device)
        if self.cfg.recency_positions:  # (T,) distance from the newest event
            pos = pos.flip(0)
        pos = pos.clamp(max=self.cfg.max_len - 1)
        x = self.items(items) + self.position(pos)[None]
        if self.event is not None and events is not None:
            x = x + self.event(events)
        if self.gap is not None and gaps is not None:
            x = x + self.gap(gaps)
        x = self.drop(x) * valid.unsqueeze(-1)
        causal = torch.ones(t, t, dtype=torch.bool, device=items.device).tril()
        # A query attends to earlier valid keys; padding queries to themselves (no empty rows).
        mask = (causal[None] & valid[:, None, :]) | torch.eye(t, dtype=torch.bool,
                                                             device=items.device)[None]
        mask = mask[:, None]  # (B, 1, T, T)
        maps = []
        for i, block in enumerate(self.blocks):
            last = last_only and i == len(self.blocks) - 1
            x, w = block(x, mask, return_attention, last)
            if w is not None:
                maps.append(w)
        keep = valid[:, -1:] if last_only else valid
        return self.norm(x) * keep.unsqueeze(-1), maps

    def forward(self, items: torch.Tensor, events: torch.Tensor | None = None,
                gaps: torch.Tensor | None = None, candidates: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, RepeatPairs | None]:
        """What the training loss reads: (B, T, dim) session vectors at every position, the
        vectors of `candidates` (item indices + 1) or the whole (I + 1, dim) table when None,
        and every position's repeat bonus (`repeat_pairs`, None when it is off).

        Going through forward() lets DistributedDataParallel see every parameter in use.
        """
        hidden, _ = self.encode(items, events, gaps)
        vecs = self.output_items(self.items(candidates)) if candidates is not None \
            else self.item_table()
        return self.session_vectors(hidden), vecs, self.repeat_pairs(items)

    def repeat_pairs(self, items: torch.Tensor, last_only: bool = False) -> RepeatPairs | None:
        """The repeat bonus of every (position, earlier item) pair of `items`, or None when the
        bonus is off.

        Args:
            items: (B, T) item indices + 1, left-padded with 0 (the newest event is last).
            last_only: the newest position only (serving), not every position (training).

        Returns:
            RepeatPairs: for position p of row b and each event j <= p, the item at j (internal
            index) and the weight of its recency bucket (p - j events ago). The score of an
            item at (b, p) gains the sum of the weights of its pairs.
        """
        if self.repeat_bonus is None:
            return None
        t = items.shape[1]
        pos = torch.arange(t, device=items.device)
        if last_only:
            ago = (t - 1 - pos)[None, None]  # (1, 1, T)
            ok = (items != 0)[:, None, :]
            rows, _, cols = ok.nonzero(as_tuple=True)
            at = torch.full_like(rows, t - 1)
        else:
            ago = (pos[:, None] - pos[None, :])[None]  # (1, T, T): p - j
            ok = (ago >= 0) & (items != 0)[:, None, :] & (items != 0)[:, :, None]
            rows, at, cols = ok.nonzero(as_tuple=True)
        ago = ago.expand(ok.shape)[ok]
        return RepeatPairs(rows, at, items[rows, cols] - 1, self.repeat_bonus[_recency(ago)])

    def session_vectors(self, hidden: torch.Tensor) -> torch.Tensor:
        """(..., dim) hidden states as the scores read them: unchanged, or scaled unit vectors
        when cfg.score_scale is set (padding stays the zero vector)."""
        if not self.cfg.score_scale:
            return hidden
        return self.cfg.score_scale * F.normalize(hidden, dim=-1)

    def output_items(self, vecs: torch.Tensor) -> torch.Tensor:
        """(..., dim) item vectors as the scores read them: unchanged, or unit vectors when
        cfg.score_scale is set."""
        return F.normalize(vecs, dim=-1) if self.cfg.score_scale else vecs

    def item_table(self) -> torch.Tensor:
        """(I + 1, dim) output vectors of every item (row 0 = padding)."""
        return self.output_items(self.items())

    def score_last(self, items: torch.Tensor, events: torch.Tensor | None = None,
                   gaps: torch.Tensor | None = None) -> torch.Tensor:
        """(B, I) scores of every item as the next event after each sequence."""
        hidden, _ = self.encode(items, events, gaps, last_only=True)
        scores = self.session_vectors(hidden[:, -1]) @ self.item_table()[1:].T
        pairs = self.repeat_pairs(items, last_only=True)
        return scores if pairs is None else add_bonus(scores, pairs.rows, pairs.items,
                                                      pairs.weights)


class RepeatPairs(NamedTuple):
    """The repeat bonus as (position, earlier item) pairs (`AttentionRankerNet.repeat_pairs`):
    parallel (P,) tensors of the row in the batch, the position in the row, the item (internal
    index) and the pair's weight."""

    rows: torch.Tensor
    positions: torch.Tensor
    items: torch.Tensor
    weights: torch.Tensor


def add_bonus(scores: torch.Tensor, rows: torch.Tensor, items: torch.Tensor,
              weights: torch.Tensor, columns: torch.Tensor | None = None) -> torch.Tensor:
    """`scores` (N, C) with each repeat pair's weight added where its row meets its item.

    Args:
        scores: (N, C) scores, of every item (column c = item c) or of `columns`.
        rows, items, weights: (P,) the pairs (`RepeatPairs`, rows mapped to scores' rows).
        columns: None when column c is item c; else the (C,) sorted items of the columns,
            copies allowed (each copy gets the bonus).
    """
    weights = weights.to(scores.dtype)
    if columns is None:
        return scores.index_put((rows, items), weights, accumulate=True)
    lo = torch.searchsorted(columns, items)
    n = torch.searchsorted(columns, items, right=True) - lo  # copies of the item in columns
    first = torch.cumsum(n, 0) - n
    within = torch.arange(int(n.sum()), device=scores.device) - first.repeat_interleave(n)
    return scores.index_put((rows.repeat_interleave(n), lo.repeat_interleave(n) + within),
                            weights.repeat_interleave(n), accumulate=True)


def _recency(ago: torch.Tensor) -> torch.Tensor:
    """Recency bucket of an item seen `ago` events before the position: 0-3 as they are, then
    one bucket per doubling (4-7, 8-15, ...), the last bucket holding everything older."""
    log = torch.floor(torch.log2(ago.clamp(min=1).float())).long() + 2
    return torch.where(ago < 4, ago, log).clamp(max=N_REPEAT_BUCKETS - 1)


def _init(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)
        if module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()


def gap_buckets(times: torch.Tensor) -> torch.Tensor:
    """(B, T) log2-second buckets of the time since the previous event; 1 where unknown.

    Args:
        times: (B, T) float epoch seconds, NaN where unknown or padding.
    """
    prev = torch.cat([torch.full_like(times[:, :1], float("nan")), times[:, :-1]], dim=1)
    gap = (times - prev).clamp(min=0)
    bucket = torch.floor(torch.log2(gap + 1.0)).clamp(max=N_GAP_BUCKETS - 3) + 2
    return torch.where(torch.isnan(bucket), torch.ones_like(bucket), bucket).long()
