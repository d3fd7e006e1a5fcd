"""Plotly figures that describe a dataset's interaction log: activity over time, the event funnel
and the popularity long tail; and its profile: sequence lengths, the category mix and cold start.

Each builder is a pure function: it takes the canonical interactions table (some profile
charts also the catalog; see `recdash.data.schema`) and returns a `plotly.graph_objects.Figure`,
so the studio, a notebook and a report can draw the same chart. A table without the columns a
chart needs is rejected with a ValueError naming them. Every chart grows its margins to fit its
tick labels and keeps bar labels outside the plot area visible; numbers read one way per chart
(`fixed`: 4 decimals for metrics, percentages for shares), and an axis whose values are all one
number gets a narrow range around it (`single_value_range`) instead of plotly's wide default.
The long-tail view follows the usual recommender-systems reading of popularity bias
(Abdollahpouri et al., 2019): a few "short-head" items take most of the events.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from recdash import profile
from recdash.data import schema as S

# One colour per event type, used by every chart so that "purchase" always looks the same.
EVENT_COLORS: dict[str, str] = {S.VIEW: "#8da0cb", S.CART: "#f0a53a", S.PURCHASE: "#2e9e6b"}
MAX_TAIL_POINTS = 2_000  # the long tail is drawn at most this many log-spaced ranks
HEAD_SHARE = 0.2  # the "short head": this share of items with events, most popular first
_LAYOUT = dict(margin=dict(l=10, r=10, t=50, b=10), legend=dict(orientation="h", y=-0.15))


def _check_frame(frame: object, columns: tuple[str, ...], chart: str, kind: str,
                 fix: str) -> pd.DataFrame:
    """The table itself, or a ValueError naming the chart, the columns it needs and the fix.

    `kind` reads before "columns" in the message, e.g. "a catalog with " or "".
    """
    need = ", ".join(columns)
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{chart} needs a pandas DataFrame with columns {need}; got "
                         f"{type(frame).__name__}. {fix}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns)) or "no columns"
        raise ValueError(f"{chart} needs {kind}columns {need}; missing "
                         f"{', '.join(missing)} (the table has {have}). {fix}")
    return frame


def _require(events: object, columns: tuple[str, ...], chart: str) -> pd.DataFrame:
    return _check_frame(events, columns, chart, "",
                        "Pass the dataset's canonical interactions table (Dataset.interactions).")


def _event_order(labels: object) -> list[str]:
    """Known event types weakest first, then any other labels in sorted order."""
    present = {str(x) for x in labels}
    return [e for e in S.EVENT_TYPES if e in present] + sorted(present - set(S.EVENT_TYPES))


def _fit(fig: go.Figure) -> go.Figure:
    """The figure with margins that grow to fit its tick labels (long titles, rotated labels)."""
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


# Numbers as the charts and the studio's tables print them.

def fixed(value: float, digits: int = 4) -> str:
    """`value` with `digits` decimals; never '-0.0000' (a value that rounds to 0 prints as 0),
    and '' for NaN."""
    if value is None or not np.isfinite(value):
        return ""
    return f"{round(float(value), digits) + 0.0:.{digits}f}"  # + 0.0 turns -0.0 into 0.0


def zero_rounded(frame: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """A copy of `frame` whose float values that round to 0 at `digits` decimals are exactly 0,
    so that a table formatted with that many decimals never shows '-0.0000'."""
    out = frame.copy()
    for col in out.columns[[pd.api.types.is_float_dtype(t) for t in out.dtypes]]:
        out[col] = out[col].mask(out[col].round(digits) == 0, 0.0)
    return out


def single_value_range(values: object) -> list[float] | None:
    """An axis range for values that are all the same number, else None (plotly's autorange).

    Plotly centres a wide default range on a single value (e.g. -0.5..1 around 0.25), which
    reads as if the metric could be negative. The range returned pads the value by 20% (at
    least 0.01) and stops at 0 for a non-negative value, so a metric never looks negative.
    """
    v = np.asarray(pd.to_numeric(pd.Series(values, dtype=object), errors="coerce"),
                   dtype=float)
    v = v[np.isfinite(v)]
    if not len(v) or np.ptp(v) > 0:
        return None
    x = float(v[0])
    pad = max(0.2 * abs(x), 0.01)
    return [max(0.0, x - pad) if x >= 0 else x - pad, x + pad]


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
    return _fit(fig)


def event_funnel(events: pd.DataFrame) -> go.Figure:
    """The view -> cart -> purchase funnel: how many events of each type.

    Args:
        events: interactions with `event_type`.

    Returns:
        A figure with one funnel trace whose y are the event types view, cart, purchase (types the
        data lacks count 0) and whose x are the numbers of events; it starts at the first type
        the data has (an order export has no views: its funnel is purchases alone, 100%, not a
        share of zero views).

    Raises:
        ValueError: `events` is not a DataFrame with that column.
    """
    _require(events, (S.EVENT,), "event_funnel")
    counts = events[S.EVENT].astype(str).value_counts()
    stages = list(S.EVENT_TYPES)
    values = [int(counts.get(e, 0)) for e in stages]
    while len(stages) > 1 and values[0] == 0:
        stages, values = stages[1:], values[1:]
    fig = go.Figure(go.Funnel(y=stages, x=values, textinfo="value+percent initial",
                              marker=dict(color=[EVENT_COLORS[e] for e in stages])),
                    layout=dict(title="Event funnel", **_LAYOUT))
    return _fit(fig)


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
    return _fit(fig)


# Profile charts: the numbers come from `recdash.profile`; these builders only draw them.

def _require_catalog(catalog: object, columns: tuple[str, ...], chart: str) -> pd.DataFrame:
    return _check_frame(catalog, columns, chart, "a catalog with ",
                        "Pass the dataset's canonical catalog (Dataset.catalog).")


def sequence_lengths(events: pd.DataFrame) -> go.Figure:
    """How many users have how many events (the length of their sequence).

    Args:
        events: interactions with `user_id`.

    Returns:
        A figure with one bar trace: x the length bins ("7" or "10-14"; the last bin also holds
        the longest few percent), y the number of users. The title gives the median length.

    Raises:
        ValueError: `events` is not a DataFrame with that column.
    """
    _require(events, (S.USER,), "sequence_lengths")
    title = "Events per user"
    lengths = profile.sequence_lengths(events)
    if lengths.empty:
        return _empty(title, "This dataset has no events.")
    bins = profile.length_histogram(lengths)
    labels = [f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in zip(bins["low"], bins["high"])]
    fig = go.Figure(go.Bar(x=labels, y=bins["users"], marker=dict(color=EVENT_COLORS[S.VIEW]),
                           hovertemplate="%{x} events: %{y} users<extra></extra>"),
                    layout=dict(title=f"{title}: median {lengths.median():g}",
                                xaxis=dict(title="events per user", type="category"),
                                yaxis_title="users", bargap=0.05, **_LAYOUT))
    return _fit(fig)


def category_mix(events: pd.DataFrame, catalog: pd.DataFrame) -> go.Figure:
    """Share of catalog items and of events per top-level category.

    Args:
        events: interactions with `item_id`.
        catalog: items with `item_id` and `category` (a path such as "Home > Kitchen > Mugs").

    Returns:
        A figure with two horizontal bar traces, "catalog items" and "events", one bar per
        category (the top `recdash.profile.TOP_CATEGORIES` by events, then the rest as one);
        x is the share. A catalog without categories gives an empty figure that says so.

    Raises:
        ValueError: `events` or `catalog` is not a DataFrame with those columns.
    """
    _require(events, (S.ITEM,), "category_mix")
    _require_catalog(catalog, (S.ITEM, S.CATEGORY), "category_mix")
    title = "Category mix (top level)"
    mix = profile.category_mix(events, catalog)
    if mix.empty or set(mix["category"]) == {profile.NO_CATEGORY}:
        return _empty(title, "The catalog has no categories.")
    mix = mix.iloc[::-1]  # plotly draws the first row at the bottom
    fig = go.Figure(layout=dict(title=title, barmode="group", xaxis=dict(
        title="share", tickformat=".0%"), height=max(350, 60 + 28 * len(mix)), **_LAYOUT))
    for label, share, count, color in (
            ("catalog items", "item_share", "items", "#c5cbd6"),
            ("events", "event_share", "events", EVENT_COLORS[S.PURCHASE])):
        fig.add_trace(go.Bar(y=mix["category"], x=mix[share], customdata=mix[count],
                             orientation="h", name=label, marker=dict(color=color),
                             hovertemplate=f"%{{y}}: %{{x:.1%}} of {label} "
                                           "(%{customdata:,})<extra></extra>"))
    return _fit(fig)


def cold_start_shares(events: pd.DataFrame, catalog: pd.DataFrame) -> go.Figure:
    """The cold part of a dataset: users with few events, items without or with only recent
    events.

    Args:
        events: interactions with `user_id`, `item_id` and `timestamp`.
        catalog: items with `item_id`.

    Returns:
        A figure with one horizontal bar trace whose bars are the shares (0..1) of cold users,
        catalog items without events and new items (the last only when the log has
        timestamps); each bar's text gives the count.

    Raises:
        ValueError: `events` or `catalog` is not a DataFrame with those columns.
    """
    _require(events, (S.USER, S.ITEM, S.TIME), "cold_start_shares")
    _require_catalog(catalog, (S.ITEM,), "cold_start_shares")
    cold = profile.cold_start(events, catalog)
    rows = [(f"users with {cold.cold_user_max} or fewer events", cold.cold_user_share,
             cold.cold_users, cold.users, "users"),
            ("catalog items without events", cold.without_events_share,
             cold.items_without_events, cold.items, "items")]
    if cold.new_items is not None:
        rows.append((f"items first seen in the last {cold.new_item_share:.0%} of the time range",
                     cold.new_item_share_of_items, cold.new_items, cold.items, "items"))
    rows.reverse()  # plotly draws the first bar at the bottom
    widest = min(1.0, max(0.2, 1.3 * max(r[1] for r in rows)))  # room for the text beside
    fig = go.Figure(go.Bar(
        y=[r[0] for r in rows], x=[r[1] for r in rows], orientation="h",
        text=[f"{share:.0%} ({n:,} of {total:,} {unit})" for _, share, n, total, unit in rows],
        textposition="auto", cliponaxis=False, marker=dict(color=EVENT_COLORS[S.CART]),
        hovertemplate="%{y}: %{x:.0%}<extra></extra>"),
        layout=dict(title="Cold start", xaxis=dict(title="share", tickformat=".0%",
                                                   range=[0, widest]), **_LAYOUT))
    return _fit(fig)


# Training and evaluation charts: a job's events (`recdash.jobs.events`) and the run tables of
# `recdash.runs_view`; these builders only draw them.

def _require_runs(runs: object, columns: tuple[str, ...], chart: str) -> pd.DataFrame:
    return _check_frame(runs, columns, chart, "a run table with ",
                        "Pass recdash.runs_view.runs_table(ws, dataset), and pick metrics it has.")


def _epochs_done(event: dict) -> float:
    """Epochs of training behind an event, fractional mid-epoch."""
    return event["epoch"] + event["step"] / max(1, event["steps_per_epoch"])


def training_loss(events: list[dict]) -> go.Figure:
    """A training job's loss against epochs.

    Args:
        events: the job's TrainEvents as dicts, oldest first (see `recdash.jobs.events`).

    Returns:
        A figure with one line trace: x the epochs done (fractional within an epoch), y the
        loss of that step; an empty figure that says so before the first step.
    """
    title = "Training loss"
    points = [(_epochs_done(e), e["loss"]) for e in events
              if e.get("kind") in ("step", "epoch") and e.get("loss") is not None]
    if not points:
        return _empty(title, "Waiting for the first training step.")
    x, y = zip(*points)
    return _fit(go.Figure(go.Scatter(x=x, y=y, mode="lines+markers" if len(x) == 1 else "lines",
                                     name="loss", line=dict(color=EVENT_COLORS[S.VIEW]),
                                     hovertemplate="epoch %{x:.2f}: %{y:.4f}<extra></extra>"),
                          layout=dict(title=title, xaxis=dict(title="epoch",
                                                              range=single_value_range(x)),
                                      yaxis=dict(title="loss", range=single_value_range(y)),
                                      **_LAYOUT)))


def validation_ndcg(events: list[dict]) -> go.Figure:
    """A training job's validation NDCG@10 after each epoch (what early stopping watches).

    Args:
        events: the job's TrainEvents as dicts, oldest first.

    Returns:
        A figure with one line trace: x the epochs done, y the validation NDCG@10; an empty
        figure that says so before the first validation.
    """
    title = "Validation NDCG@10"
    points = [(_epochs_done(e), e["valid_ndcg"]) for e in events
              if e.get("kind") == "epoch" and e.get("valid_ndcg") is not None]
    if not points:
        return _empty(title, "Waiting for the first validation (end of epoch 1).")
    x, y = zip(*points)
    best = max(y)
    return _fit(go.Figure(go.Scatter(x=x, y=y, mode="lines+markers", name="NDCG@10",
                                     line=dict(color=EVENT_COLORS[S.PURCHASE]),
                                     hovertemplate="epoch %{x:.2f}: %{y:.4f}<extra></extra>"),
                          layout=dict(title=f"{title}: best {fixed(best)}",
                                      xaxis=dict(title="epoch", range=single_value_range(x)),
                                      yaxis=dict(title="NDCG@10", range=single_value_range(y)),
                                      **_LAYOUT)))


def metric_bars(runs: pd.DataFrame, metric: str) -> go.Figure:
    """One metric of several runs, a bar per run.

    Args:
        runs: a `recdash.runs_view.runs_table` (columns run, badge and the metric).
        metric: the column to draw, e.g. "NDCG@10".

    Returns:
        A figure with one bar trace: x the run names, y the metric; the hover text gives the
        protocol badge.

    Raises:
        ValueError: `runs` lacks those columns.
    """
    _require_runs(runs, ("run", "badge", metric), "metric_bars")
    values = pd.to_numeric(runs[metric], errors="coerce")
    top = float(values.max()) if values.notna().any() else 0.0
    # Headroom above the tallest bar for its label, which is drawn outside the bar.
    fig = go.Figure(go.Bar(x=runs["run"], y=values, customdata=runs["badge"],
                           text=[fixed(v) for v in values], textposition="outside",
                           cliponaxis=False, marker=dict(color=EVENT_COLORS[S.PURCHASE]),
                           hovertemplate="%{x}: %{y:.4f}<br>%{customdata}<extra></extra>"),
                    layout=dict(title=metric, yaxis=dict(title=metric, range=[
                        0, 1.18 * top if top > 0 else 1.0]), **_LAYOUT))
    return _fit(fig)


def segment_bars(table: pd.DataFrame, metric: str) -> go.Figure:
    """One metric by segment (cold users, head items, ...), a group of bars per segment.

    Args:
        table: a `recdash.runs_view.segment_table`: runs as rows, segments as columns.
        metric: the metric's name, for the title.

    Returns:
        A figure with one bar trace per run: x the segments, y the metric.
    """
    if not isinstance(table, pd.DataFrame):
        raise ValueError("segment_bars needs a DataFrame of runs by segments; pass "
                         "recdash.runs_view.segment_table(long, metric)")
    fig = go.Figure(layout=dict(title=f"{metric} by segment", barmode="group",
                                yaxis_title=metric, **_LAYOUT))
    for run, row in table.iterrows():
        fig.add_trace(go.Bar(x=list(row.index), y=row.to_numpy(), name=str(run),
                             hovertemplate=f"{run}, %{{x}}: %{{y:.4f}}<extra></extra>"))
    return _fit(fig)


def tradeoff_scatter(runs: pd.DataFrame, x: str, y: str) -> go.Figure:
    """Runs as points on two metrics, e.g. accuracy (NDCG@10) against coverage or novelty.

    Args:
        runs: a `recdash.runs_view.runs_table` (columns run, model, badge and both metrics).
        x, y: the metrics on the axes.

    Returns:
        A figure with one marker trace per model; each point is labelled with its run's name.

    Raises:
        ValueError: `runs` lacks those columns.
    """
    _require_runs(runs, ("run", "model", "badge", x, y), "tradeoff_scatter")
    fig = go.Figure(layout=dict(title=f"{y} against {x}",
                                xaxis=dict(title=x, range=single_value_range(runs[x])),
                                yaxis=dict(title=y, range=single_value_range(runs[y])),
                                **_LAYOUT))
    for model, rows in runs.groupby("model", sort=False):
        fig.add_trace(go.Scatter(
            x=rows[x], y=rows[y], mode="markers+text", text=rows["run"], name=str(model),
            textposition="top center", cliponaxis=False, marker=dict(size=12),
            customdata=rows["badge"],
            hovertemplate=f"%{{text}}<br>{x} %{{x:.4f}}<br>{y} %{{y:.4f}}<br>"
                          "%{customdata}<extra></extra>"))
    return _fit(fig)
