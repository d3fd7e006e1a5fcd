"""Cached loaders: what the pages read from the workspace, computed once and reused across reruns.

Every loader is keyed by plain arguments (the workspace folder as text and a dataset name), so two
sessions on the same workspace share entries, and `max_entries` bounds memory. Code that changes
the workspace (generating the demo shop, an import, a deletion) calls `refresh` afterwards.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from recdash import charts
from recdash.data.dataset import Dataset
from recdash.data.report import ValidationReport
from recdash.errors import RecdashError
from recdash.runs.demo import first_start_enabled, train_first_models
from recdash.workspace import Workspace
from ui import state

DATASET_COLUMNS = ("name", "users", "items", "events", "source", "created")
CATALOG_TTL_S = 30  # the CLI or a training job may add datasets behind the studio's back


@st.cache_data(max_entries=8, ttl=CATALOG_TTL_S, show_spinner=False)
def dataset_table(root: str) -> pd.DataFrame:
    """The workspace's datasets, oldest first: name, users, items, events, source, created.

    Args:
        root: the workspace folder.

    Returns:
        One row per dataset; `items` counts the products in its catalog.
    """
    rows = [{"name": info.name, "users": info.stats.get("users"),
             "items": info.stats.get("catalog_items"), "events": info.stats.get("events"),
             "source": info.source, "created": pd.Timestamp(info.created, unit="s", tz="UTC")}
            for info in Workspace(root).datasets()]
    return pd.DataFrame(rows, columns=list(DATASET_COLUMNS))


@st.cache_data(max_entries=4, show_spinner="Loading the dataset...")
def load_dataset(root: str, name: str) -> Dataset:
    """The stored dataset `name` (interactions, catalog and validation report).

    Raises:
        RecdashError: the workspace has no such dataset.
    """
    return Workspace(root).load_dataset(name)


@st.cache_data(max_entries=16, show_spinner=False)
def load_report(root: str, name: str) -> ValidationReport:
    """The validation report of dataset `name`, read without loading the tables."""
    return Workspace(root).dataset_report(name)


@st.cache_data(max_entries=8, show_spinner="Drawing the charts...")
def overview_figures(root: str, name: str) -> tuple[go.Figure, go.Figure, go.Figure]:
    """The Home page's charts of dataset `name`: events per day, event funnel, long tail."""
    events = load_dataset(root, name).interactions
    return (charts.events_over_time(events), charts.event_funnel(events),
            charts.popularity_long_tail(events))


@dataclass(frozen=True)
class DatasetProfile:
    """The Data page's view of one stored dataset: its report and its charts."""

    report: ValidationReport
    over_time: go.Figure
    funnel: go.Figure
    long_tail: go.Figure
    lengths: go.Figure
    categories: go.Figure
    cold_start: go.Figure


def created_at(root: str, name: str) -> float:
    """When dataset `name` was stored (Unix time; 0.0 if unknown): a cache key that changes when
    the dataset is overwritten."""
    table = dataset_table(root)
    row = table[table["name"] == name]
    return float(row["created"].iloc[0].timestamp()) if len(row) else 0.0


@st.cache_data(max_entries=4, show_spinner="Profiling the dataset...")
def dataset_profile(root: str, name: str, created: float) -> DatasetProfile:
    """Dataset `name`'s report and profile charts, read as it was stored at `created`.

    Args:
        root: the workspace folder.
        name: a stored dataset.
        created: its `created_at` time; part of the cache key only, so an overwritten dataset is
            profiled again.
    """
    ds = Workspace(root).load_dataset(name)
    events, catalog = ds.interactions, ds.catalog
    return DatasetProfile(
        report=ds.report, over_time=charts.events_over_time(events),
        funnel=charts.event_funnel(events), long_tail=charts.popularity_long_tail(events),
        lengths=charts.sequence_lengths(events), categories=charts.category_mix(events, catalog),
        cold_start=charts.cold_start_shares(events, catalog))


def refresh() -> None:
    """Forget every cached workspace read, after something changed the workspace."""
    for loader in (dataset_table, load_dataset, load_report, overview_figures, dataset_profile):
        loader.clear()


@st.cache_resource(show_spinner=False)
def _demo_lock(root: str) -> threading.Lock:
    # One lock per workspace and server, so two first visitors do not both build the demo shop.
    return threading.Lock()


def ensure_demo_shop(root: str) -> None:
    """On first start (a workspace without datasets), build and store the demo shop and start
    training its first models in the background (`recdash.runs.demo`).

    Shows the generator's progress in an `st.status` box. Cheap on every other rerun: it only
    reads the cached dataset list.

    Args:
        root: the workspace folder.
    """
    if not dataset_table(root).empty:
        return
    with _demo_lock(root), st.status("First start: building the demo shop...",
                                     expanded=True) as status:
        bar = st.progress(0.0, text="starting")
        try:
            ws = Workspace(root)
            created = ws.ensure_demo(
                progress=lambda done, message: bar.progress(min(max(done, 0.0), 1.0), text=message))
            if created and first_start_enabled():
                train_first_models(ws)  # background jobs; Home shows their progress
        except RecdashError as exc:
            status.update(label="The demo shop could not be built", state="error")
            st.error(str(exc))
            return
        finally:
            refresh()
        status.update(label="The demo shop is ready", state="complete", expanded=False)


def require_dataset(root: str) -> str:
    """The sidebar's selected dataset; stops the page with a note when the workspace has none."""
    name = state.selected_dataset(dataset_table(root)["name"].tolist())
    if name is None:
        st.info("The workspace has no dataset yet.")
        st.stop()
    return name
