"""The numbers behind a dataset's profile: sequence lengths, the category mix and cold start.

Pure pandas functions over the canonical tables (see `recdash.data.schema`), so the studio's
charts (`recdash.charts`), the CLI and a notebook read the same numbers. "Cold" follows the usual
cold-start reading of recommender data (Schein et al., 2002): users with too few events to learn a
taste from, and items with no (or only very recent) history, which collaborative models cannot
place and which content features (titles, categories) have to cover.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recdash.data import schema as S
from recdash.eval.segments import COLD_USER_MAX_EVENTS

NEW_ITEM_SHARE = 0.1  # an item first seen in this last share of the time range counts as new
TOP_CATEGORIES = 15  # the category mix keeps this many top-level categories, the rest is OTHER
LENGTH_BINS = 40  # the sequence-length histogram has at most this many bars
LENGTH_CLIP_QUANTILE = 0.99  # lengths above this quantile share the histogram's last bar
CATEGORY_SEPARATOR = ">"  # category paths read "Dept > Sub > Leaf"
NO_CATEGORY = "(no category)"
OTHER = "(other categories)"


def _need(frame: object, columns: tuple[str, ...], what: str) -> pd.DataFrame:
    """The table itself, or a ValueError saying which columns `what` needs."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{what} needs a pandas DataFrame with columns {', '.join(columns)}; "
                         f"got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} needs columns {', '.join(columns)}; missing "
                         f"{', '.join(missing)}. Pass the dataset's canonical tables.")
    return frame


def sequence_lengths(events: pd.DataFrame) -> pd.Series:
    """Events per user.

    Args:
        events: interactions with `user_id`.

    Returns:
        One integer per user (index: user_id), in no particular order.
    """
    _need(events, (S.USER,), "sequence_lengths")
    return events.groupby(S.USER, sort=False, observed=True).size().rename("events")


def length_histogram(lengths: pd.Series, max_bins: int = LENGTH_BINS,
                     clip_quantile: float = LENGTH_CLIP_QUANTILE) -> pd.DataFrame:
    """Users per sequence length, in bins of equal integer width.

    Bins cover the lengths from the shortest to the `clip_quantile` quantile; the few longer
    sequences join the last bin, whose `high` is the longest length, so that one very long
    sequence does not squeeze everyone else into the first bar.

    Args:
        lengths: events per user (see `sequence_lengths`).
        max_bins: at most this many bins.
        clip_quantile: lengths above this quantile go to the last bin.

    Returns:
        Columns `low`, `high` (both inclusive) and `users`, one row per bin, shortest first;
        empty bins are kept (users = 0). No rows when `lengths` is empty.
    """
    values = np.asarray(lengths, dtype=np.int64)
    if values.size == 0:
        return pd.DataFrame({"low": [], "high": [], "users": []}, dtype="int64")
    low = int(values.min())
    cap = max(low, math.ceil(np.quantile(values, clip_quantile)))
    width = max(1, math.ceil((cap - low + 1) / max_bins))
    n_bins = math.ceil((cap - low + 1) / width)
    index = np.minimum((values - low) // width, n_bins - 1)
    users = np.bincount(index, minlength=n_bins)
    lows = low + width * np.arange(n_bins)
    highs = lows + width - 1
    highs[-1] = int(values.max())  # the last bin holds the longest sequences, however long
    return pd.DataFrame({"low": lows, "high": highs, "users": users}).astype("int64")


def top_category(paths: pd.Series) -> pd.Series:
    """The top level of each category path ("Home > Kitchen > Mugs" -> "Home").

    Args:
        paths: category paths as text; missing or blank values become NO_CATEGORY.

    Returns:
        A text Series aligned with `paths`.
    """
    top = paths.astype("string").str.split(CATEGORY_SEPARATOR, n=1).str[0].str.strip()
    return top.mask(top.isna() | (top == ""), NO_CATEGORY).astype(object)


def category_mix(events: pd.DataFrame, catalog: pd.DataFrame,
                 top: int = TOP_CATEGORIES) -> pd.DataFrame:
    """Catalog items and events per top-level category.

    Args:
        events: interactions with `item_id`.
        catalog: items with `item_id` and `category`. Items that have events but are missing
            from the catalog count under NO_CATEGORY.
        top: keep this many categories (most events first, then most items); the others are
            summed into one OTHER row, last.

    Returns:
        Columns `category`, `items`, `events`, `item_share` and `event_share` (shares of all
        catalog items and of all events; 0 when there are none).
    """
    _need(events, (S.ITEM,), "category_mix")
    _need(catalog, (S.ITEM, S.CATEGORY), "category_mix")
    items = catalog.drop_duplicates(S.ITEM)
    of_item = pd.Series(top_category(items[S.CATEGORY]).to_numpy(),
                        index=items[S.ITEM].astype(str).to_numpy())
    per_items = of_item.value_counts()
    per_events = (events[S.ITEM].astype(str).map(of_item).fillna(NO_CATEGORY)
                  .value_counts())
    table = pd.DataFrame({"items": per_items, "events": per_events}).fillna(0).astype("int64")
    table = table.rename_axis("category").reset_index()
    table = table.sort_values(["events", "items", "category"],
                              ascending=[False, False, True]).reset_index(drop=True)
    if len(table) > top:
        rest = table.iloc[top:]
        other = pd.DataFrame({"category": [OTHER], "items": [int(rest["items"].sum())],
                              "events": [int(rest["events"].sum())]})
        table = pd.concat([table.iloc[:top], other], ignore_index=True)
    table["item_share"] = table["items"] / max(1, int(table["items"].sum()))
    table["event_share"] = table["events"] / max(1, int(table["events"].sum()))
    return table


@dataclass(frozen=True)
class ColdStart:
    """How much of a dataset is cold.

    Attributes:
        users: users with events.
        cold_users: users with at most `cold_user_max` events.
        items: catalog items (plus items seen only in the events).
        items_without_events: catalog items nobody interacted with.
        new_items: items whose first event falls in the last `new_item_share` of the time
            range; None when the log has no timestamps (0 when it spans a single instant).
        cold_user_max: the threshold used for `cold_users`.
        new_item_share: the share of the time range used for `new_items`.
    """

    users: int
    cold_users: int
    items: int
    items_without_events: int
    new_items: int | None
    cold_user_max: int = COLD_USER_MAX_EVENTS
    new_item_share: float = NEW_ITEM_SHARE

    @property
    def cold_user_share(self) -> float:
        return self.cold_users / self.users if self.users else 0.0

    @property
    def without_events_share(self) -> float:
        return self.items_without_events / self.items if self.items else 0.0

    @property
    def new_item_share_of_items(self) -> float | None:
        if self.new_items is None:
            return None
        return self.new_items / self.items if self.items else 0.0


def cold_start(events: pd.DataFrame, catalog: pd.DataFrame,
               cold_user_max: int = COLD_USER_MAX_EVENTS,
               new_item_share: float = NEW_ITEM_SHARE) -> ColdStart:
    """Count cold users, items without events and new items.

    Args:
        events: interactions with `user_id`, `item_id` and `timestamp` (NaT when unknown).
        catalog: items with `item_id`.
        cold_user_max: users with at most this many events are cold.
        new_item_share: items first seen in this last share of [first event, last event] are
            new (the boundary counts as new).

    Returns:
        The counts; see ColdStart.
    """
    _need(events, (S.USER, S.ITEM, S.TIME), "cold_start")
    _need(catalog, (S.ITEM,), "cold_start")
    lengths = sequence_lengths(events)
    seen = pd.Index(events[S.ITEM].astype(str).unique())
    listed = pd.Index(catalog[S.ITEM].astype(str).unique())
    timed = events[events[S.TIME].notna()]
    new_items: int | None = None
    if not timed.empty:
        times = pd.to_datetime(timed[S.TIME], utc=True)
        first, last = times.min(), times.max()
        if last > first:
            cutoff = last - (last - first) * new_item_share
            first_seen = times.groupby(timed[S.ITEM].astype(str).to_numpy()).min()
            new_items = int((first_seen >= cutoff).sum())
        else:
            new_items = 0
    return ColdStart(users=int(lengths.size), cold_users=int((lengths <= cold_user_max).sum()),
                     items=int(listed.union(seen).size),
                     items_without_events=int(listed.difference(seen).size),
                     new_items=new_items, cold_user_max=cold_user_max,
                     new_item_share=new_item_share)
