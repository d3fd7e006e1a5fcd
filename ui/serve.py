"""The Serve page's panels: the service's status, its API keys, its live metrics and the curl
commands that call it. The service itself is `recdash.serve.process`: one background
`recdash serve` process per workspace, which outlives the studio.

The metrics panel is a fragment that redraws itself every REFRESH_S while the service runs (and
redraws the whole page when the service comes up or goes away); the previous reading is kept in
session state, so the request rate is measured between two redraws.
"""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from recdash.data import schema as S
from recdash.errors import RecdashError
from recdash.serve import process
from recdash.serve.keys import create_key, list_keys
from recdash.serve.process import ServerInfo
from recdash.workspace import Workspace
from ui import loaders, state

REFRESH_S = 2  # the metrics panel redraws this often while the service runs
STATE_LABELS = {None: "stopped", "starting": "starting", "running": "running",
                "exited": "stopped (it ended by itself)"}


def status_line(info: ServerInfo | None) -> str:
    """The service's state in one line of markdown."""
    colour = {"running": "green", "starting": "orange"}.get(info.state if info else None, "gray")
    text = f":{colour}-badge[{STATE_LABELS[info.state if info else None]}]"
    if info is None or info.state == "exited":
        return text
    uptime = info.uptime_s
    served = (info.health or {}).get("run", info.run_id)
    dataset = (info.health or {}).get("dataset")
    text += f" run `{served}`" + (f" of **{dataset}**" if dataset else "")
    text += f" at {info.url}, {info.workers} worker{'s' if info.workers > 1 else ''}"
    if info.state == "running" and uptime is not None:
        text += f", up {_duration(uptime)}"
    return text


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def keys_panel(root: str) -> None:
    """The workspace's API keys (names and dates, never a key or its hash) and "Create a key",
    which shows the new key once."""
    ws = Workspace(root)
    names = {k["name"] for k in list_keys(ws)}
    suggestion = next(f"key-{i}" for i in range(1, len(names) + 2) if f"key-{i}" not in names)
    left, right = st.columns([2, 1], vertical_alignment="bottom")
    name = left.text_input("Key name", value=suggestion,
                           help="who uses it (e.g. shop-web); a key is revoked by name with "
                                "`recdash keys revoke NAME`")
    if right.button("Create a key", icon=":material/key:"):
        try:
            key = create_key(ws, name.strip())
        except RecdashError as exc:
            st.error(str(exc), icon=":material/error:")
        else:
            st.code(key, language=None)
            st.warning(f"This is key **{name.strip()}**. Copy it now: it will not be shown "
                       "again (the workspace keeps only its hash).", icon=":material/warning:")
    keys = [k for k in list_keys(ws) if k["name"] != process.MONITOR_KEY]
    if not keys:
        st.caption("No API keys yet: every endpoint but /health needs one. Create one above.")
        return
    table = pd.DataFrame(keys)
    table["created"] = pd.to_datetime(table["created"], unit="s", utc=True).dt.strftime(
        "%Y-%m-%d %H:%M UTC")
    st.caption(f"{len(keys)} API key{'s' if len(keys) > 1 else ''}:")
    st.dataframe(table, hide_index=True)


def metrics_panel(root: str, drawn_state: str | None) -> None:
    """Requests, request rate, errors and latency per endpoint, redrawn every REFRESH_S while
    the service is up. `drawn_state`: the state the page drew; a change redraws the page."""
    running = drawn_state in ("starting", "running")
    st.fragment(run_every=REFRESH_S if running else None)(_metrics)(root, drawn_state)


def _metrics(root: str, drawn_state: str | None) -> None:
    ws = Workspace(root)
    info = process.server_status(ws)
    if (info.state if info else None) != drawn_state:
        st.rerun()  # the service came up or went away: redraw the status too
    if info is None or info.state != "running":
        st.caption("Requests and latencies show here while the service runs.")
        return
    key = process.monitor_key(ws)
    previous = st.session_state.get(state.SERVE_READING)
    now = time.time()
    try:
        if key is None:
            raise RecdashError("the studio has no key to read /metrics with; restart the "
                               "service from this page")
        reading = process.read_metrics(info, key, *(previous or (None, None)), now=now)
    except RecdashError as exc:
        st.caption(f"No metrics: {exc}")
        return
    st.session_state[state.SERVE_READING] = (reading, now)
    if not reading:
        st.caption("No requests yet. Try one of the commands below.")
        return
    table = pd.DataFrame([{"endpoint": endpoint, **figures}
                          for endpoint, figures in reading.items()])
    st.caption(f"Every {REFRESH_S} s this page itself calls /health and /metrics once.")
    st.dataframe(table, hide_index=True, column_config={
        "requests": st.column_config.NumberColumn("requests", format="%d"),
        "rate": st.column_config.NumberColumn("requests/s", format="%.1f",
                                              help=f"over the last {REFRESH_S} s or so"),
        "errors": st.column_config.NumberColumn("errors", format="%d"),
        "p50_ms": st.column_config.NumberColumn("p50 ms", format="%.1f",
                                                help="median latency since the start"),
        "p99_ms": st.column_config.NumberColumn("p99 ms", format="%.1f",
                                                help="99th percentile latency since the start, "
                                                     "estimated from the histogram buckets")})


def example_ids(root: str, name: str) -> tuple[str, str, str]:
    """A real shopper, product and search query of dataset `name` for the curl commands: the
    most active shopper, the most popular product, and the first words of its title."""
    return _examples(root, name, loaders.created_at(root, name))


@st.cache_data(max_entries=8, show_spinner=False)
def _examples(root: str, name: str, created: float) -> tuple[str, str, str]:
    dataset = loaders.load_dataset(root, name)  # `created`: a replaced dataset is read again
    events = dataset.interactions
    user = str(events[S.USER].value_counts().index[0])
    item = events[S.ITEM].value_counts().index[0]
    catalog = dataset.catalog
    titles = catalog.loc[catalog[S.ITEM] == item, S.TITLE] if S.TITLE in catalog else []
    words = str(titles.iloc[0]).split()[:2] if len(titles) else []
    return user, str(item), " ".join(words).lower() or "shoes"


def dataset_of(root: str, info: ServerInfo, default: str) -> str:
    """The dataset of the run the service serves (it may not be the one selected), else
    `default`."""
    run_id = (info.health or {}).get("run", info.run_id)
    runs = Workspace(root).runs()
    found = runs.loc[runs["id"] == run_id, "dataset"]
    names = loaders.dataset_table(root)["name"].tolist()
    return found.iloc[0] if len(found) and found.iloc[0] in names else default


def curl_panel(info: ServerInfo, root: str, name: str) -> None:
    """The ready-to-paste commands, with a real shopper and product of the dataset."""
    user, item, query = example_ids(root, name)
    st.caption("Set your key once in the shell, then paste any command (they call "
               f"{info.url}, as seen from the machine the studio runs on):")
    st.code("export RECDASH_KEY=rdk_...  # the key you created above", language="bash")
    for label, command in process.curl_commands(info, user=user, item=item, query=query):
        st.markdown(f"**{label}**")
        st.code(command, language="bash")
