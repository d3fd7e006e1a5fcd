"""Personalised product search: BM25 and MiniLM retrieval, fused, blended with a run's score.

`recdash.search.index` builds and caches the catalog's index, `recdash.search.engine` answers a
query, `recdash.search.tokens` holds the words, terms and typo correction they share.
"""

from recdash.search.engine import SearchResult, Searcher
from recdash.search.index import SearchIndex, load_or_build
from recdash.search.settings import Filters, SearchSettings

__all__ = ["Filters", "SearchIndex", "SearchResult", "SearchSettings", "Searcher",
           "load_or_build"]
