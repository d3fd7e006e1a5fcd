"""The studio's Streamlit glue: session-state keys, cached loaders and shared widgets.

This package and the pages are the only code that imports streamlit; the engine in `recdash/`
stays free of it, so everything shown here can also be computed from the CLI or a notebook.
"""
