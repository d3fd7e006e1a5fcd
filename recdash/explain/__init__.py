"""Why a shopper sees a recommendation: attention maps, SHAP attributions, counterfactuals and a
plain-words reason, computed without Streamlit (the studio and the command line draw them).

- `attention`: the last position's attention over the history, per layer and head, averaged over
  heads, and attention rollout across layers (Abnar & Zuidema, 2020).
- `shapley`: Shapley values by the `shap` library's Permutation explainer, of (a) the history
  events (removing an event = dropping it from the sequence) and (b) the item-side signals of the
  attention ranker; both in a shap-shaped `Explanation`.
- `counterfactual`: the smallest set of history events (greedy over SHAP order, verified by
  re-ranking) whose removal drops the item out of the top-K; the reason line.
- `summary`: one call for the studio (`explain_recommendation`) and the global view over shoppers.
- `charts`: plotly figures, each taking only the objects above.
"""

from recdash.explain.explanation import Explanation

__all__ = ["Explanation"]
