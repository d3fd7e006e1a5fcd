"""Serve: the recommendation service for a shop's website. Pick a finished run and start the
service (a background process that outlives the studio), read its status, its request rate and
latencies, create API keys, and copy ready-to-paste curl commands for every endpoint."""

import os

import streamlit as st

from recdash.errors import RecdashError
from recdash.serve import process
from recdash.serve.process import ServerInfo
from recdash.workspace import Workspace
from ui import frame, loaders, state
from ui import runs as run_ui
from ui import serve as serve_ui

frame.ensure_frame()

DEFAULT_PORT = 8000

root = state.workspace_root()
name = loaders.require_dataset(root)
ws = Workspace(root)
st.title("Serve")
st.caption("The service answers a shop's website over HTTP: recommendations, search, "
           "explanations and similar items, and it takes the shoppers' live events. One service "
           "per workspace; it keeps running when the studio is closed.")

info = process.server_status(ws)
up = info is not None and info.state in ("starting", "running")
st.markdown("**Service:** " + serve_ui.status_line(info))

if up:
    if info.state == "running":
        st.markdown(f"[Interactive API docs]({info.url}/docs) · health: {info.url}/health")
    else:
        st.caption("Loading the run; the service answers in a few seconds.")
    if st.button("Stop", icon=":material/stop:"):
        with st.spinner("Stopping the service (in-flight requests finish first)..."):
            process.stop_server(ws)
        st.rerun()
    shown, dataset = info, serve_ui.dataset_of(root, info, name)
else:
    if info is not None:  # exited without a stop
        st.error("The service ended by itself. The end of its output:", icon=":material/error:")
        st.code(process.log_tail(info) or "(no output)", language=None)
    runs = run_ui.require_runs(root, name)
    run_id = run_ui.pick_run(runs, help="the finished run the service answers with")
    a, b, c = st.columns(3, vertical_alignment="bottom")
    port = a.number_input("Port", 1024, 65535, DEFAULT_PORT, help="the TCP port to listen on")
    workers = b.number_input("Workers", 1, os.cpu_count() or 1, 1,
                             help="uvicorn worker processes; each holds the run in memory")
    everywhere = c.toggle("Reachable from other machines",
                          help="listen on every network interface (0.0.0.0), not only on this "
                               "machine (127.0.0.1); every endpoint but /health needs a key")
    host = "0.0.0.0" if everywhere else "127.0.0.1"
    if st.button("Start", type="primary", icon=":material/play_arrow:"):
        try:
            process.start_server(ws, run_id, port=int(port), host=host, workers=int(workers))
        except RecdashError as exc:
            st.error(str(exc), icon=":material/error:")
        else:
            st.rerun()
    shown, dataset = ServerInfo(run_id, host, int(port), workers=int(workers)), name

st.subheader("Requests")
serve_ui.metrics_panel(root, info.state if info else None)
st.subheader("API keys")
serve_ui.keys_panel(root)
st.subheader("Call it")
serve_ui.curl_panel(shown, root, dataset)
