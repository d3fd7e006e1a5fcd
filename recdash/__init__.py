"""recdash: an attention-based search and recommendation studio for e-commerce.

The engine behind the studio: data loading and validation (`recdash.data`), the workspace
(`recdash.workspace`), recommenders (`recdash.models`) and full-ranking evaluation
(`recdash.eval`). It never imports streamlit, so training hosts need none of the UI packages.
"""

__version__ = "0.1.0"
