"""Plotly figures that describe a dataset's interaction log: activity over time, the event funnel
and the popularity long tail.

Each builder is a pure function: it takes the canonical interactions table (see
`recdash.data.schema`) and returns a `plotly.graph_objects.Figure`, so the studio, a notebook and
a report can draw the same chart. A table without the columns a chart needs is rejected with a
ValueError naming them. The long-tail view follows the usual recommender-systems reading of
popularity bias (Abdollahpouri et al., 2019): a few "short-head" items take most of the events.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from recdash.data import schema as S

# One colour per event type, used by every chart so that "purchase" always looks the same.
EVENT_COLORS: dict[str, str] = {S.VIEW: "#8da0cb", S.CART: "#f0a53a", S.PURCHASE: "#2e9e6b"}
MAX_TAIL_POINTS = 2_000  # the long tail is drawn at most this many log-spaced ranks
HEAD_SHARE = 0.2  # the "short head": this share of items with events, most popular first
_LAYOUT = dict(margin=dict(l=10, r=10, t=50, b=10), legend=dict(orientation="h", y=-0.15))


def _require(events: object, columns: tuple[str, ...], chart: str) -> pd.DataFrame:
    """The table itself, or a ValueError saying which columns `chart` needs."""
    need = ", ".join(columns)
    if not isinstance(events, pd.DataFrame):
        raise ValueError(f"{chart} needs a pandas DataFrame with columns {need}; got "
                         f"{type(events).__name__}. Pass the dataset's interactions table "
                         "(Dataset.interactions).")
    missing = [c for c in columns if c not in events.columns]
    if missing:
        have = ", ".join(map(str, events.columns)) or "no columns"
        raise ValueError(f"{chart} needs columns {need}; missing {', '.join(missing)} (the table "
                         f"has {have}). Pass the canonical interactions table "
                         "(Dataset.interactions).")
    return events


def _event_order(labels: object) -> list[str]:
    """Known event types weakest first, then any other labels in sorted order."""
    present = {str(x) for x in labels}
    return [e for e in S.EVENT_TYPES if e in present] + sorted(present - set(S.EVENT_TYPES))


def _empty(title: str, message: str) -> go.Figure:
    fig = go.Figure(layout=dict(title=title, **_LAYOUT))
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def events_over_time(events: pd.DataFrame) -> go.Figure:
    """Events per day, one line per event type.

    Args:
        events: interactions with `timestamp` (UTC datetime, NaT when unknown) and `event_type`.

    Returns:
        A figure with one scatter trace per event type (x: day, y: number of events); days
        without events of a type count as 0. Events without a timestamp are left out; a table
        with no timestamps at all gives an empty figure that says so.

    Raises:
        ValueError: `events` is not a DataFrame with those columns.
    """
    _require(events, (S.TIME, S.EVENT), "events_over_time")
    title = "Events per day"
    stamped = events[events[S.TIME].notna()]
    if stamped.empty:
        return _empty(title, "This dataset has no timestamps.")
    times = pd.to_datetime(stamped[S.TIME], utc=True)
    day = times.dt.tz_convert(None).dt.normalize().rename("day")
    counts = (stamped.groupby([day, stamped[S.EVENT].astype(str)], observed=True).size()
              .unstack(fill_value=0))
    counts = counts.reindex(pd.date_range(counts.index.min(), counts.index.max(), freq="D"),
                            fill_value=0)
    fig = go.Figure(layout=dict(title=title, xaxis_title="day (UTC)", yaxis_title="events",
                                hovermode="x unified", **_LAYOUT))
    for event in _event_order(counts.columns):
        fig.add_trace(go.Scatter(x=counts.index, y=counts[event].to_numpy(), name=event,
                                 mode="lines", line=dict(color=EVENT_COLORS.get(event))))
    return fig


def event_funnel(events: pd.DataFrame) -> go.Figure:
    """The view -> cart -> purchase funnel: how many events of each type.

    Args:
        events: interactions with `event_type`.

    Returns:
        A figure with one funnel trace whose y are the event types view, cart, purchase (types the
        data lacks count 0) and whose x are the numbers of events.

    Raises:
        ValueError: `events` is not a DataFrame with that column.
    """
    _require(events, (S.EVENT,), "event_funnel")
    counts = events[S.EVENT].astype(str).value_counts()
    stages = list(S.EVENT_TYPES)
    values = [int(counts.get(e, 0)) for e in stages]
    fig = go.Figure(go.Funnel(y=stages, x=values, textinfo="value+percent initial",
                              marker=dict(color=[EVENT_COLORS[e] for e in stages])),
                    layout=dict(title="Event funnel", **_LAYOUT))
    return fig


def popularity_long_tail(events: pd.DataFrame) -> go.Figure:
    """Events per item against the item's popularity rank, on log-log axes.

    Args:
        events: interactions with `item_id`.

    Returns:
        A figure with one scatter trace: x is the rank (1 = most popular item), y the item's
        number of events. Catalogs with more than MAX_TAIL_POINTS items with events are drawn at
        log-spaced ranks. The title gives the share of events that the most popular HEAD_SHARE of
        items receive.

    Raises:
        ValueError: `events` is not a DataFrame with that column.
    """
    _require(events, (S.ITEM,), "popularity_long_tail")
    title = "Popularity long tail"
    counts = np.sort(events[S.ITEM].value_counts().to_numpy())[::-1]
    if counts.size == 0:
        return _empty(title, "This dataset has no events.")
    head = max(1, int(round(HEAD_SHARE * counts.size)))
    share = counts[:head].sum() / counts.sum()
    ranks = np.arange(1, counts.size + 1)
    if counts.size > MAX_TAIL_POINTS:
        keep = np.unique(np.geomspace(1, counts.size, MAX_TAIL_POINTS).round().astype(int)) - 1
        ranks, counts = ranks[keep], counts[keep]
    fig = go.Figure(go.Scatter(x=ranks, y=counts, mode="lines+markers", name="items",
                               marker=dict(size=4, color=EVENT_COLORS[S.VIEW]),
                               hovertemplate="rank %{x}: %{y} events<extra></extra>"),
                    layout=dict(title=f"{title}: the top {HEAD_SHARE:.0%} of items get "
                                      f"{share:.0%} of events",
                                xaxis=dict(type="log", title="item popularity rank"),
                                yaxis=dict(type="log", title="events per item"), **_LAYOUT))
    return fig
