"""One shopper up close: who is interesting to look at, their history, what a model recommends
from it, and how the list changes when the history is edited ("what if they had also bought X?").

The studio's Shopper page draws these; every function is pure pandas/NumPy on a dataset's tables,
so a notebook gets the same answers. A history is a small frame of events (item_id, event_type,
timestamp), oldest first; edits return a new frame and never change the one they were given. The
lists themselves come from the serving path (`recdash.recommend.Service.recommend_frame`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from recdash.data import schema as S
from recdash.errors import RecdashError

HISTORY_COLUMNS = (S.TIME, S.ITEM, S.EVENT)
TIMELINE_COLUMNS = (S.TIME, S.TITLE, S.CATEGORY, S.EVENT, S.ITEM)
INTERESTING = {  # list name -> what it holds
    "long history": "the shoppers with the most events",
    "cold start": "the shoppers with the fewest events",
    "heavy buyers": "the shoppers with the most purchases",
}
ADDED_GAP = pd.Timedelta(minutes=1)  # an added event happens this long after the last one


def shopper_summary(interactions: pd.DataFrame) -> pd.DataFrame:
    """Events and purchases per shopper.

    Args:
        interactions: canonical interactions (user_id, event_type, ...).

    Returns:
        Columns user_id, events, purchases; one row per shopper, sorted by user_id.
    """
    bought = (interactions[S.EVENT].astype("string") == S.PURCHASE).fillna(False)
    frame = pd.DataFrame({S.USER: interactions[S.USER].astype("string"),
                          "purchases": bought.astype(int)})
    summary = frame.groupby(S.USER, sort=True).agg(events=("purchases", "size"),
                                                   purchases=("purchases", "sum"))
    return summary.reset_index()


def interesting_shoppers(interactions: pd.DataFrame, kind: str, n: int = 20) -> pd.DataFrame:
    """The n shoppers of one INTERESTING list, most telling first.

    Args:
        interactions: canonical interactions.
        kind: a key of INTERESTING: "long history" (most events), "cold start" (fewest events)
            or "heavy buyers" (most purchases; shoppers who never bought are left out).
        n: how many to return.

    Returns:
        Columns user_id, events, purchases; ties are broken by user_id.

    Raises:
        RecdashError: an unknown kind.
    """
    summary = shopper_summary(interactions)
    if kind == "long history":
        order = summary.sort_values(["events", S.USER], ascending=[False, True], kind="stable")
    elif kind == "cold start":
        order = summary.sort_values(["events", S.USER], kind="stable")
    elif kind == "heavy buyers":
        order = summary[summary["purchases"] > 0].sort_values(
            ["purchases", "events", S.USER], ascending=[False, False, True], kind="stable")
    else:
        raise RecdashError(f"unknown list of shoppers {kind!r}; choose one of "
                           f"{', '.join(INTERESTING)}")
    return order.head(n).reset_index(drop=True)


def search_users(users: Sequence[object], query: str, limit: int = 50) -> list[str]:
    """Shopper IDs containing `query` (case-insensitive), exact matches first, at most `limit`."""
    ids = pd.Series(pd.unique(pd.Series(list(users), dtype="string").dropna()))
    query = query.strip()
    if not query:
        return ids.head(limit).tolist()
    hits = ids[ids.str.contains(query, case=False, regex=False)]
    exact = hits.str.lower() == query.lower()
    return pd.concat([hits[exact], hits[~exact]]).head(limit).tolist()


def search_products(catalog: pd.DataFrame, query: str, limit: int = 50) -> pd.DataFrame:
    """Catalog rows whose title or item ID contains `query` (case-insensitive), at most `limit`.

    Returns:
        Columns item_id, title, category, price, in catalog order.
    """
    cat = catalog.drop_duplicates(S.ITEM)
    query = query.strip()
    if query:
        text = cat[S.ITEM].astype("string") + " " + cat[S.TITLE].astype("string").fillna("")
        cat = cat[text.str.contains(query, case=False, regex=False).fillna(False)]
    return cat[[S.ITEM, S.TITLE, S.CATEGORY, S.PRICE]].head(limit).reset_index(drop=True)


def history_of(interactions: pd.DataFrame, user: object) -> pd.DataFrame:
    """A shopper's events, oldest first (stored order breaks ties in time).

    Returns:
        HISTORY_COLUMNS: timestamp, item_id, event_type (as text); empty for an unknown shopper.
    """
    rows = interactions[interactions[S.USER] == user]
    hist = pd.DataFrame({
        S.TIME: rows.get(S.TIME, pd.NaT),
        S.ITEM: rows[S.ITEM].astype(object),
        S.EVENT: rows[S.EVENT].astype(object) if S.EVENT in rows else S.VIEW,
    })
    return hist.sort_values(S.TIME, kind="stable").reset_index(drop=True)


def empty_history() -> pd.DataFrame:
    """A new visitor's history: no events."""
    return pd.DataFrame({S.TIME: pd.Series(dtype="datetime64[ns, UTC]"),
                         S.ITEM: pd.Series(dtype=object), S.EVENT: pd.Series(dtype=object)})


def add_event(history: pd.DataFrame, item_id: object, event_type: str = S.PURCHASE,
              when: pd.Timestamp | None = None) -> pd.DataFrame:
    """The history with one more event at the end.

    Args:
        history: HISTORY_COLUMNS, oldest first.
        item_id: the shop's item ID.
        event_type: one of schema.EVENT_TYPES.
        when: the event's time; by default ADDED_GAP after the last event (or now, for an
            empty history or one without times).

    Raises:
        RecdashError: an unknown event type.
    """
    if event_type not in S.EVENT_TYPES:
        raise RecdashError(f"unknown event type {event_type!r}; choose one of "
                           f"{', '.join(S.EVENT_TYPES)}")
    if when is None:
        last = history[S.TIME].max() if len(history) else pd.NaT
        when = last + ADDED_GAP if pd.notna(last) else pd.Timestamp.now(tz="UTC")
    row = pd.DataFrame({S.TIME: [when], S.ITEM: [item_id], S.EVENT: [event_type]})
    if not len(history):
        return row.astype({S.ITEM: object, S.EVENT: object})
    return pd.concat([history, row], ignore_index=True)


def remove_event(history: pd.DataFrame, position: int) -> pd.DataFrame:
    """The history without its event at `position` (0 = oldest)."""
    if not 0 <= position < len(history):
        raise RecdashError(f"no event at position {position}; the history has {len(history)}")
    return history.drop(index=history.index[position]).reset_index(drop=True)


def timeline(history: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """The history with product titles and categories, oldest first (TIMELINE_COLUMNS).

    Args:
        history: HISTORY_COLUMNS.
        products: the catalog indexed by item_id (`Dataset.products`, built once).
    """
    cat = products.reindex(columns=[S.TITLE, S.CATEGORY])
    return history.join(cat, on=S.ITEM)[list(TIMELINE_COLUMNS)]


def diff_recommendations(original: pd.DataFrame, edited: pd.DataFrame) -> pd.DataFrame:
    """The edited list, each row marked against the original list.

    Args:
        original: a `Service.recommend_frame` list before the edit.
        edited: one after it.

    Returns:
        `edited` with two more columns: `was` (the item's rank in the original list, NaN if it
        was not there) and `change` ("new", "up 2", "down 1" or "" when unchanged).
    """
    was = original.drop_duplicates(S.ITEM).set_index(S.ITEM)["rank"]
    out = edited.copy()
    out["was"] = out[S.ITEM].map(was).astype("Float64")
    moved = out["was"] - out["rank"]
    out["change"] = [
        "new" if pd.isna(w) else f"up {int(m)}" if m > 0 else f"down {int(-m)}" if m < 0 else ""
        for w, m in zip(out["was"], moved)]
    return out


def dropped_items(original: pd.DataFrame, edited: pd.DataFrame) -> pd.DataFrame:
    """Rows of the original list whose items left the edited list."""
    return original[~original[S.ITEM].isin(edited[S.ITEM])].reset_index(drop=True)


def list_for_display(listed: pd.DataFrame) -> pd.DataFrame:
    """A `diff_recommendations` list with its numbers as text: scores to 4 decimals, prices to
    2, the earlier rank as a whole number, nothing where a value is missing."""
    out = listed.copy()
    for column, fmt in (("score", "{:.4f}"), (S.PRICE, "{:.2f}"), ("was rank", "{:.0f}")):
        if column in out:
            out[column] = [fmt.format(v) if pd.notna(v) else "" for v in out[column]]
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].where(out[column].notna(), "")
    return out
