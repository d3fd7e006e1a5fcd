"""The embedded demo shop: a deterministic, synthetic e-commerce catalog and event log.

`generate_demo_shop` builds a plausible shop (a three-level category tree, invented brands with
budget/mid/premium price levels, readable titles) and simulates shoppers with lasting tastes who
browse it in sessions: a view -> cart -> purchase funnel, Zipf-like popularity (a few hits, a long
tail), late product launches (cold start), modest re-buying of consumables, and complementary
purchase chains (smartphone -> case -> charger) so that the order of events carries the signal a
sequential recommender such as SASRec (Kang & McAuley, 2018) learns. Everything is drawn from one
`numpy.random.default_rng(seed)`, so equal arguments give byte-identical tables. The catalog
(tables, products, titles) is built in `recdash.data.demo_catalog`; this module runs the shoppers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recdash.data import schema as S
from recdash.data.demo_catalog import (DEMO_END, DEMO_START, LAUNCH_FROM, NEW_ARRIVAL, _DAY, _NB,
                                       _SPAN, _TREE, _catalog, _ids, _Items, _make_items)

__all__ = ["DEMO_END", "DEMO_NAME", "DEMO_START", "LAUNCH_FROM", "NEW_ARRIVAL",
           "generate_demo_shop"]

DEMO_NAME = "demo"
_DEPT_SHARE = (0.20, 0.17, 0.13, 0.14, 0.16, 0.08, 0.12)  # how many shoppers lean to each one
_VMAX = 10  # most product views in one session
_MAX_SESSIONS = 60  # per shopper
_P_FOLLOW, _P_REFILL, _P_EXPIRE = 0.8, 0.07, 0.3  # chain follow-up, re-buy, forget a pending chain
_HINT_BOOST = 6.0  # how much a follow-up prefers the brand of the previous chain purchase
_HOURLY = (1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.4, 2.9, 3.1, 3.3, 3.8, 3.6, 3.2, 3.1,
           3.3, 3.7, 4.4, 5.1, 5.6, 5.0, 3.6, 2.0)  # sessions starting per hour (UTC)
_KEY = 1 << 26  # > _SPAN: packs (group, launch second) into one sortable int64


@dataclass(frozen=True)
class _Shoppers:
    """Lasting tastes, one row per shopper."""

    dept_pref: np.ndarray  # (U, D) Dirichlet share of sessions per department
    taste: np.ndarray  # (U, D, _NB) brand affinity times fit to the shopper's price level
    arrival: np.ndarray  # (U,) seconds after DEMO_START of the first session
    mean_gap: np.ndarray  # (U,) mean seconds between sessions


def _make_shoppers(rng: np.random.Generator, n_users: int) -> _Shoppers:
    n_depts = len(_TREE.depts)
    dept_pref = rng.dirichlet(0.35 * n_depts * np.array(_DEPT_SHARE), n_users)
    price_level = rng.choice(3, n_users, p=[0.35, 0.45, 0.20])
    sensitivity = rng.uniform(0.3, 2.5, n_users)
    misfit = np.abs(_TREE.levels[None] - price_level[:, None, None])  # (U, D, _NB)
    affinity = rng.gamma(0.7, size=(n_users, n_depts, _NB))
    taste = affinity * np.exp(-sensitivity[:, None, None] * misfit)
    early = rng.random(n_users) < 0.55  # the rest sign up over the half year
    arrival = np.where(early, rng.integers(0, 14 * _DAY, n_users),
                       rng.integers(0, _SPAN - 2 * _DAY, n_users))
    arrival = _daytime(rng, arrival, not_before=np.zeros(n_users, dtype=np.int64))
    mean_gap = rng.lognormal(np.log(18 * _DAY), 0.7, n_users)
    return _Shoppers(dept_pref, taste, arrival, mean_gap)


def _choice_rows(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """(B, n) column indices drawn per row in proportion to `weights` (B, K); all-zero = uniform."""
    rows, k = weights.shape
    total = weights.sum(1, keepdims=True)
    cum = np.cumsum(np.where(total > 0, weights, 1.0), 1)
    offset = np.arange(rows)[:, None]
    flat = (cum / cum[:, -1:] + offset).ravel()  # row r spans (r, r + 1]
    idx = np.searchsorted(flat, (rng.random((rows, n)) + offset).ravel(), side="right")
    return (idx.reshape(rows, n) - offset * k).clip(0, k - 1)


def _daytime(rng: np.random.Generator, t: np.ndarray, not_before: np.ndarray) -> np.ndarray:
    """Move each second `t` to a time of the same day drawn from the shop's daily traffic curve
    (quiet nights, an evening peak), a day later where that would fall before `not_before`."""
    hour = _choice_rows(rng, np.tile(_HOURLY, (len(t), 1)), 1)[:, 0]
    moved = t - t % _DAY + hour * 3600 + rng.integers(0, 3600, len(t))
    return np.where(moved < not_before, moved + _DAY, moved)


class _ItemSampler:
    """Draws a leaf's products for shoppers: a brand by taste, then a launched item by popularity.

    Items are sorted by (leaf, brand) group and launch time, so the items on sale at time t form a
    prefix of each group and one searchsorted finds it.
    """

    def __init__(self, items: _Items):
        group = items.leaf * _NB + items.brand
        self.order = np.lexsort((items.launch, group))
        self.key = group[self.order] * _KEY + items.launch[self.order]
        self.cum = np.concatenate([[0.0], np.cumsum(items.attract[self.order])])
        n_groups = (items.leaf.max() + 1) * _NB
        self.start = np.searchsorted(group[self.order], np.arange(n_groups))

    def sample(self, rng: np.random.Generator, leaf: np.ndarray, t: np.ndarray,
               brand_w: np.ndarray, n: int) -> np.ndarray:
        """(B, n) item indices for sessions in `leaf` (B,) starting at `t` (B,), given brand
        weights `brand_w` (B, _NB)."""
        groups = leaf[:, None] * _NB + np.arange(_NB)  # (B, _NB)
        end = np.searchsorted(self.key, groups * _KEY + t[:, None], side="right")
        mass = self.cum[end] - self.cum[self.start[groups]]  # (B, _NB) popularity on sale
        pick = np.take_along_axis(groups, _choice_rows(rng, mass * brand_w, n), 1)  # (B, n)
        lo, hi = self.start[pick], np.take_along_axis(end, pick % _NB, 1)
        target = self.cum[lo] + rng.random(pick.shape) * (self.cum[hi] - self.cum[lo])
        pos = np.searchsorted(self.cum, target, side="right") - 1
        return self.order[pos.clip(lo, hi - 1)]


@dataclass(frozen=True)
class _Shop:
    """The catalog as the simulation sees it."""

    items: _Items
    sampler: _ItemSampler
    leaf_w: np.ndarray  # (L,) demand per leaf, within its department
    dept_leaves: np.ndarray  # (D, most leaves in a department) leaf indices, -1 padded


@dataclass
class _State:
    """What each shopper carries from one session to the next (U,); -1 means none."""

    t_next: np.ndarray  # start of the next session, seconds after DEMO_START
    pending: np.ndarray  # leaf that complements the last chain purchase
    hint: np.ndarray  # brand of that purchase
    refill: np.ndarray  # a consumable bought before


def _session_leaves(rng: np.random.Generator, users: _Shoppers, u: np.ndarray, leaf_w: np.ndarray,
                    dept_leaves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(primary, secondary) leaf per browsing session: department by taste, leaves by demand."""
    dept = _choice_rows(rng, users.dept_pref[u], 1)[:, 0]
    w = np.where(dept_leaves >= 0, leaf_w[dept_leaves], 0.0)[dept]  # (B, max leaves per dept)
    two = np.take_along_axis(dept_leaves[dept], _choice_rows(rng, w, 2), 1)
    return two[:, 0], two[:, 1]


def _repeats(items: np.ndarray) -> np.ndarray:
    """(B, V) True where the item already appears earlier in its row."""
    v = items.shape[1]
    return ((items[:, :, None] == items[:, None, :]) & np.tri(v, k=-1, dtype=bool)).any(2)


def _browse(rng: np.random.Generator, shop: _Shop, taste: np.ndarray,
            leaves: tuple[np.ndarray, np.ndarray], t: np.ndarray, brand_w: np.ndarray,
            browse: np.ndarray) -> np.ndarray:
    """(B, V) products a session looks at: its leaf, perhaps a sibling; distinct where possible."""
    b, n = len(t), 2 * _VMAX
    items = shop.sampler.sample(rng, leaves[0], t, brand_w, n)
    sibling = shop.sampler.sample(rng, leaves[1], t,
                                  taste[np.arange(b), _TREE.leaf_dept[leaves[1]]], n)
    switch = np.where(browse & (rng.random(b) < 0.3), rng.integers(1, _VMAX, b), n)
    items = np.where(np.arange(n) >= switch[:, None], sibling, items)
    order = np.argsort(_repeats(items), axis=1, kind="stable")[:, :_VMAX]  # distinct ones first
    return np.take_along_axis(items, order, 1)


def _run_session(rng: np.random.Generator, shop: _Shop, users: _Shoppers, st: _State,
                 u: np.ndarray) -> tuple[np.ndarray, ...]:
    """Simulate one session for each shopper in `u` (B,) and update their state.

    Returns flat arrays (user, item, second, event code) of the events, code 0/1/2 = view/cart/buy.
    """
    b, t = len(u), st.t_next[u]
    pending, refill = st.pending[u], st.refill[u]
    follow = (pending >= 0) & (rng.random(b) < _P_FOLLOW)
    again = ~follow & (refill >= 0) & (rng.random(b) < _P_REFILL)
    browse = ~follow & ~again
    leaf, leaf2 = _session_leaves(rng, users, u, shop.leaf_w, shop.dept_leaves)
    leaf = np.where(follow, pending, np.where(again, shop.items.leaf[refill.clip(0)], leaf))
    # Browsing looks at two products or more (no one-event shoppers); follow-ups know their aim.
    n_views = np.where(browse, 2 + rng.poisson(1.7, b),
                       1 + rng.poisson(np.where(follow, 1.5, 0.3)))
    n_views = n_views.clip(1, _VMAX)
    taste = users.taste[u]  # (B, D, _NB)
    brand_w = taste[np.arange(b), _TREE.leaf_dept[leaf]]
    hinted = follow & (st.hint[u] >= 0)
    brand_w[hinted, st.hint[u][hinted]] *= _HINT_BOOST
    items = _browse(rng, shop, taste, (leaf, leaf2), t, brand_w, browse)  # (B, V)
    items[again, 0] = refill[again]
    slot = np.arange(_VMAX)
    shown = slot < n_views[:, None]
    first = shown & ~_repeats(items)  # only the first view of an item may lead to the basket
    p_cart = np.where(follow, 0.5, 0.17)[:, None] + (again[:, None] & (slot == 0)) * 0.8
    cart = first & (rng.random(first.shape) < p_cart)
    buy = cart & (rng.random(first.shape) < np.where(browse, 0.5, 0.8)[:, None])
    buy |= first & ~cart & (rng.random(first.shape) < 0.01)  # "buy now", no basket
    events, end = _emit(rng, st, u, items, (shown, cart, buy))
    _advance(rng, shop, users, st, u, items, buy, follow, end)
    return events


def _emit(rng: np.random.Generator, st: _State, u: np.ndarray, items: np.ndarray,
          masks: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, ...]:
    """Lay a session's events out in time: view (then cart) per product, checkout at the end.

    Returns flat (user, item, second, code) arrays and the session's last second (B,).
    """
    shown, cart, buy = masks  # (B, V) each
    b = len(u)
    # Slots (B, 3V): view_0, cart_0, view_1, cart_1, ..., then purchase_0 .. purchase_{V-1}.
    valid = np.concatenate([np.stack([shown, cart], 2).reshape(b, -1), buy], 1)
    item = np.concatenate([np.repeat(items, 2, 1), items], 1)
    code = np.broadcast_to(np.r_[np.tile([0, 1], _VMAX), np.full(_VMAX, 2)], valid.shape)
    read, decide = rng.lognormal(3.7, 0.8, (b, _VMAX)), rng.exponential(15.0, (b, _VMAX))
    pay = rng.exponential(40.0, (b, _VMAX))
    gap = 2 + np.concatenate([np.stack([read, decide], 2).reshape(b, -1), pay], 1).astype(np.int64)
    second = st.t_next[u][:, None] + np.cumsum(valid * gap, 1)  # strictly increasing where valid
    keep = valid & (second < _SPAN)
    user = np.broadcast_to(u[:, None], valid.shape)
    return (user[keep], item[keep], second[keep], code[keep]), second[:, -1]


def _last(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(any, column of the last True) per row of a (B, V) mask."""
    return mask.any(1), mask.shape[1] - 1 - np.argmax(mask[:, ::-1], 1)


def _advance(rng: np.random.Generator, shop: _Shop, users: _Shoppers, st: _State, u: np.ndarray,
             items: np.ndarray, buy: np.ndarray, follow: np.ndarray, end: np.ndarray) -> None:
    """Carry chain purchases and consumables over, and schedule each shopper's next session."""
    rows, leaf = np.arange(len(u)), shop.items.leaf[items]  # (B, V)
    options = _TREE.next_leaf[leaf]  # (B, V, 2)
    chained, j = _last(buy & (options[..., 0] >= 0))
    opts = options[rows, j]
    nxt = np.where((opts[:, 1] >= 0) & (rng.random(len(u)) < 0.5), opts[:, 1], opts[:, 0])
    same_dept = _TREE.leaf_dept[nxt] == _TREE.leaf_dept[leaf[rows, j]]  # brands are per department
    keep = ~follow & (rng.random(len(u)) >= _P_EXPIRE)
    st.pending[u] = np.where(chained, nxt, np.where(keep, st.pending[u], -1))
    st.hint[u] = np.where(chained, np.where(same_dept, shop.items.brand[items[rows, j]], -1),
                          np.where(keep, st.hint[u], -1))
    consumed, jc = _last(buy & _TREE.refill[leaf])
    st.refill[u] = np.where(consumed, items[rows, jc], st.refill[u])
    soon = st.pending[u] >= 0  # a complement is on the shopper's mind: back within a day or two
    wait = np.where(soon, 1800 + rng.exponential(_DAY, len(u)), rng.exponential(users.mean_gap[u]))
    t = end + 600 + wait.astype(np.int64)
    st.t_next[u] = _daytime(rng, t, not_before=end + 600)


def _simulate(rng: np.random.Generator, shop: _Shop, users: _Shoppers,
              progress: Callable[[float, str], None]) -> tuple[np.ndarray, ...]:
    """All sessions, one round per session number (vectorised over shoppers)."""
    n = len(users.arrival)
    st = _State(users.arrival.copy(), *(np.full(n, -1) for _ in range(3)))
    parts = []
    for k in range(_MAX_SESSIONS):
        u = np.flatnonzero(st.t_next < _SPAN - 3600)
        if not len(u):
            break
        parts.append(_run_session(rng, shop, users, st, u))
        progress(0.1 + 0.85 * (k + 1) / _MAX_SESSIONS, f"simulating sessions: round {k + 1}")
    return tuple(np.concatenate(arrays) for arrays in zip(*parts))


def _first_purchase_of_durables(user: np.ndarray, item: np.ndarray, code: np.ndarray,
                                items: _Items) -> np.ndarray:
    """Mask (E,) of time-ordered events that drops re-purchases of non-consumables: a shopper who
    looks at the same phone again does not buy it twice (the cart stays)."""
    again = np.zeros(len(code), dtype=bool)
    durable = np.flatnonzero((code == 2) & ~_TREE.refill[items.leaf[item]])
    again[durable] = pd.Series(user[durable] * len(items.leaf) + item[durable]).duplicated()
    return ~again


def _build_shop(rng: np.random.Generator, scale: float) -> tuple[_Shop, pd.DataFrame]:
    """The products (about 3,000 * sqrt(scale), at least 10 per leaf) and their catalog table."""
    n_leaves = len(_TREE.paths)
    leaf_w = rng.gamma(5.0, size=n_leaves)
    items = _make_items(rng, max(round(3000 * scale**0.5), 10 * n_leaves), leaf_w)
    members = [np.flatnonzero(_TREE.leaf_dept == d) for d in range(len(_TREE.depts))]
    dept_leaves = np.full((len(members), max(map(len, members))), -1)
    for d, leaves in enumerate(members):
        dept_leaves[d, : len(leaves)] = leaves
    return _Shop(items, _ItemSampler(items), leaf_w, dept_leaves), _catalog(rng, items)


def generate_demo_shop(scale: float = 1.0, seed: int = 0,
                       progress: Callable[[float, str], None] | None = None
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate the demo shop's interaction log and catalog.

    Args:
        scale: multiplies the number of shoppers (2,500 at 1.0, about 120k events); the catalog
            grows with its square root (about 3,000 products at 1.0).
        seed: seed of the only random generator used; equal arguments give identical tables.
        progress: called with (fraction done in 0..1, message) as the work advances.

    Returns:
        (interactions, catalog) in recdash's raw form: interactions has user_id, item_id,
        timestamp (ISO 8601 text, UTC), event_type (view/cart/purchase) and value (price paid on
        purchases, else NaN), sorted by user then time; catalog has item_id, title, description,
        category ("Dept > Sub > Leaf"), brand and price.

    Raises:
        ValueError: scale is not a positive number.
    """
    if not scale > 0:
        raise ValueError(f"scale must be a positive number, got {scale!r}; 1.0 is the usual shop")
    report = progress or (lambda fraction, message: None)
    rng = np.random.default_rng(seed)
    report(0.0, "building the catalog")
    shop, catalog = _build_shop(rng, scale)
    report(0.08, "creating shoppers")
    users = _make_shoppers(rng, max(round(2500 * scale), 1))
    user, item, second, code = _simulate(rng, shop, users, report)
    order = np.lexsort((second, user))
    order = order[_first_purchase_of_durables(user[order], item[order], code[order], shop.items)]
    user, item, second, code = user[order], item[order], second[order], code[order]
    stamps = np.datetime_as_string(DEMO_START + second.astype("timedelta64[s]"), unit="s",
                                   timezone="UTC")
    events = pd.DataFrame({
        S.USER: _ids("u", len(users.arrival))[user], S.ITEM: catalog[S.ITEM].to_numpy()[item],
        S.TIME: stamps.astype(object), S.EVENT: np.array(S.EVENT_TYPES, dtype=object)[code],
        S.VALUE: np.where(code == 2, shop.items.price[item], np.nan)})
    report(1.0, f"{len(events):,} events of {len(users.arrival):,} shoppers")
    return events, catalog
