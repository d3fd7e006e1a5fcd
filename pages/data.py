"""Data: bring a shop's interaction log and catalog in (upload, check the column mapping,
validate, import), then read the selected dataset's validation report and profile, and rename or
delete it."""

import streamlit as st

from recdash.data.demo import DEMO_NAME
from recdash.errors import RecdashError
from recdash.workspace import Workspace
from recdash.data.imports import upload_ids
from ui import frame, loaders, state, upload
from ui.report import show_headline, show_report

frame.ensure_frame()

IMPORT_HELP = """
Upload your shop's **interaction log** (one row per event: who, which product, when, and what
happened: view, add-to-cart or purchase) and, if you have it, the **product catalog** (one row
per product: ID, title, description, category, brand, price). CSV, TSV, Excel (.xlsx), Parquet
and JSON lines work, gzipped or zipped too, whatever the file's name says; an order export with
its titles and prices on every line needs no catalog. Drag the files onto the boxes or browse.
Or pick a stored dataset, such as the demo shop, in the sidebar.
"""
DEMO_NOTE = ("This is the built-in demo shop. Deleting it is fine: the studio builds it again "
             "whenever it starts on a workspace with no dataset left (so at once if this is the "
             "only one); to get it back beside other datasets, run `recdash demo`.")

root = state.workspace_root()
table = loaders.dataset_table(root)
names = table["name"].tolist()
if names:  # the frame does this before drawing the picker; again for a run without the frame
    state.keep_valid_selection(names)

st.title("Data")
notice = state.pop_notice()
if notice:
    st.success(notice, icon=":material/check_circle:")

st.header("Import a dataset")
st.markdown(IMPORT_HELP)
st.caption(f"Each file can be up to {st.get_option('server.maxUploadSize'):,} MB (the "
           "server.maxUploadSize setting in .streamlit/config.toml). For a larger log, gzip it, "
           "save it as Parquet, or import it from a terminal with `recdash import`.")
round_ = st.session_state[state.UPLOAD_ROUND]
left, right = st.columns(2)
events = upload.upload_of(left.file_uploader(
    "Interaction log", type=upload.FILE_TYPES, key=f"upload-events-{round_}"))
catalog = upload.upload_of(right.file_uploader(
    "Product catalog (optional)", type=upload.FILE_TYPES, key=f"upload-catalog-{round_}"))

if events is None and catalog is not None:
    st.info("Add the interaction log too: a catalog alone has nothing to learn from.")
if events is not None:
    failed = st.session_state[state.IMPORT_FAILURE]
    failure = failed[1] if failed and failed[0] == upload_ids(events, catalog) else None
    request = upload.mapping_step(events, catalog, names, failure)
    if request is not None and st.button("Validate and import", type="primary"):
        report = upload.validate_and_store(root, request)
        if report.ok:
            loaders.refresh()
            st.session_state[state.UPLOAD_ROUND] += 1  # empties the upload boxes
            st.session_state[state.IMPORT_FAILURE] = None
            state.select_dataset(request.name, f"Imported '{request.name}': "
                                 f"{report.stats.get('events', 0):,} events.")
        else:
            st.session_state[state.IMPORT_FAILURE] = (request.uploads, report)
        st.rerun()
    if failure is not None:
        st.subheader("The import was refused; nothing was stored")
        show_report(failure)

st.divider()
name = state.selected_dataset(names)
if name is None:
    st.info("The workspace has no dataset yet: import one above.")
    st.stop()

row = table[table["name"] == name].iloc[0]
st.header(f"Dataset: {name}")
st.caption(f"Source: {row['source'] or 'unknown'}; stored {row['created']:%Y-%m-%d %H:%M} UTC. "
           "Pick another dataset in the sidebar.")
profile = loaders.dataset_profile(root, name, loaders.created_at(root, name))
show_headline(profile.report.stats)

st.subheader("Validation report")
show_report(profile.report)

st.subheader("Profile")
st.plotly_chart(profile.over_time)
left, right = st.columns(2)
left.plotly_chart(profile.funnel)
right.plotly_chart(profile.long_tail)
left, right = st.columns(2)
left.plotly_chart(profile.lengths)
right.plotly_chart(profile.cold_start)
st.plotly_chart(profile.categories)

st.subheader("Rename or delete")
left, right = st.columns(2)
with left.form("rename-dataset"):
    new_name = st.text_input("New name", value=name).strip()
    sure = st.checkbox(f"Rename '{name}'; its runs and queued jobs follow it")
    if st.form_submit_button("Rename"):
        if not sure:
            st.warning("Tick the box to confirm the rename.")
        else:
            try:
                Workspace(root).rename_dataset(name, new_name)
            except RecdashError as exc:
                st.error(str(exc))
            else:
                loaders.refresh()
                state.select_dataset(new_name, f"Renamed '{name}' to '{new_name}'.")
                st.rerun()
with right.form("delete-dataset"):
    n_runs = len(Workspace(root).runs(name))
    st.markdown(f"Deleting removes the dataset's files and its {n_runs:,} run(s) from the "
                "workspace.")
    if name == DEMO_NAME:
        st.caption(DEMO_NOTE)
    sure = st.checkbox(f"I understand: delete '{name}' for good")
    if st.form_submit_button("Delete"):
        if not sure:
            st.warning("Tick the box to confirm the deletion.")
        else:
            Workspace(root).delete_dataset(name)
            loaders.refresh()
            state.leave_notice(f"Deleted '{name}'.")
            st.rerun()
