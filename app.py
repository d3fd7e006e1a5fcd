"""recdash studio: the frame around every page.

It sets the page up, initialises session state, builds the demo shop on first start, draws the
shared sidebar (workspace and dataset picker) and routes to the page the visitor chose. The pages
live in `pages/`; a new page is one more `st.Page` line in PAGES.
"""

from pathlib import Path

import streamlit as st

from ui import auth, explain, frame, loaders, state

# An emoji favicon is drawn inline; a Material icon one would be fetched from the internet.
st.set_page_config(page_title="recdash", page_icon="🛍️", layout="wide")
state.init_state()
auth.require_password()  # stops here at a sign-in form where .streamlit/secrets.toml sets one
root = state.workspace_root()
loaders.ensure_demo_shop(root)  # every page needs a dataset, so the frame makes the first one
explain.warm_up()  # shap's import, once per server, off the first explanation's path

HERE = Path(__file__).resolve().parent  # pages resolve from here, whichever file Streamlit ran
PAGES = [
    st.Page(HERE / "pages" / "home.py", title="Home", icon=":material/home:", default=True),
    st.Page(HERE / "pages" / "data.py", title="Data", icon=":material/database:"),
    st.Page(HERE / "pages" / "train.py", title="Train", icon=":material/model_training:"),
    st.Page(HERE / "pages" / "evaluate.py", title="Evaluate", icon=":material/leaderboard:"),
    st.Page(HERE / "pages" / "shopper.py", title="Shopper", icon=":material/person_search:"),
    st.Page(HERE / "pages" / "explain.py", title="Explain", icon=":material/lightbulb:"),
    st.Page(HERE / "pages" / "search.py", title="Search", icon=":material/search:"),
    st.Page(HERE / "pages" / "diversity.py", title="Diversity", icon=":material/diversity_3:"),
    st.Page(HERE / "pages" / "serve.py", title="Serve", icon=":material/api:"),
]
page = st.navigation(PAGES)

names = loaders.dataset_table(root)["name"].tolist()
with st.sidebar:
    if names:
        state.keep_valid_selection(names)
        st.selectbox("Dataset", names, key=state.DATASET,
                     help="the dataset every page works on")
        state.remember_dataset()
    else:
        st.caption("No datasets yet.")
    st.caption(f"Workspace: `{root}`")

frame.run_page(page)
