"""Search on a catalog whose right answers are known, with the real MiniLM model: exact brand
and model-number matches, synonym-only matches, typos, filters, fusion and personalisation
weights, empty inputs, and the index kept in the workspace."""

from __future__ import annotations

import numpy as np
import pytest

from recdash.data.dataset import prepare_dataset
from recdash.data.splits import make_split
from recdash.errors import RecdashError
from recdash.models import ItemKNN
from recdash.models.base import TrainData
from recdash.recommend import Service
from recdash.search import Filters, SearchIndex, Searcher, SearchSettings, load_or_build
from recdash.search import index as search_index
from recdash.text import embed_catalog
from tests.search import known

LEXICAL, SEMANTIC = SearchSettings(lexical_weight=1.0), SearchSettings(lexical_weight=0.0)


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    catalog = known.catalog()
    embeddings, _ = embed_catalog(catalog, None)  # the real all-MiniLM-L6-v2, offline
    return SearchIndex.build(catalog, embeddings)


@pytest.fixture(scope="module")
def searcher(index) -> Searcher:
    return Searcher(index)


@pytest.fixture(scope="module")
def shop():
    ds, report = prepare_dataset("known", known.log(), known.catalog())
    assert ds is not None, report.format()
    split = make_split(ds.interactions, ds.catalog, "loo")
    model = ItemKNN().fit(TrainData.from_split(split, ds.catalog))
    return ds, Service(model, ds, split)


def ids(result) -> list[str]:
    return result.frame["item_id"].tolist()


@pytest.mark.parametrize("query, first", [
    ("brewmaster", "p10"),  # a brand
    ("rx580", "p03"),  # a model number, not its neighbour RX570
    ("8 gb graphics card", "p03"),  # a size written apart matches "8GB"
    ("1.5L kettle", "p09"),
])
def test_exact_matches_come_first(searcher, query, first) -> None:
    for settings in (LEXICAL, SearchSettings(), SearchSettings(fusion="rrf")):  # alone, fused
        assert ids(searcher.search(query, k=3, settings=settings))[0] == first


@pytest.mark.parametrize("query, wanted", [
    ("footwear for jogging", {"p07", "p08"}),
    ("headset", {"p05", "p06"}),
    ("water boiler", {"p09"}),
])
def test_synonym_only_queries_are_found_by_meaning(searcher, query, wanted) -> None:
    result = searcher.search(query, k=len(wanted))
    assert set(ids(result)) == wanted
    assert (result.frame["bm25"] == 0).all()  # no word of the query is in these products
    assert any("closest in meaning" in n for n in result.notes)


def test_typos_are_corrected_and_said(searcher) -> None:
    result = searcher.search("brewmastr espreso", k=1, settings=LEXICAL)
    assert ids(result) == ["p10"]
    assert result.corrections == {"brewmastr": "brewmaster", "espreso": "espresso"}
    assert any("brewmastr" in n and "brewmaster" in n for n in result.notes)


def test_matched_words_are_highlighted_in_the_title(searcher) -> None:
    row = searcher.search("wireless mice zentro", k=1).frame.iloc[0]
    assert row["item_id"] == "p01"
    assert row["highlighted"] == "**Zentro** Echo **Wireless** Mouse - Black"
    assert row["matched"] == ["Mice", "Wireless", "Zentro"]  # "Mice" is in its category


def test_filters_keep_only_what_they_name(searcher) -> None:
    electronics = searcher.search("black", k=20, filters=Filters(category="Electronics"))
    assert set(electronics.frame["category"].str.split(" > ").str[0]) == {"Electronics"}
    shoes = searcher.search("shoes", k=20, filters=Filters(brands=("Stride",), price=(None, 65)))
    assert set(ids(shoes)) == {"p07", "p12"}
    assert (shoes.frame["price"] <= 65).all()
    none = searcher.search("shoes", k=5, filters=Filters(price=(1000.0, None)))
    assert none.frame.empty and any("widen" in n for n in none.notes)
    # "Electronics > Audio" keeps its subcategories, never a category that merely starts alike
    audio = searcher.search("headphones", k=20, filters=Filters(category="Electronics > Audio"))
    assert set(ids(audio)) == {"p05", "p06"}


def test_facets_count_the_candidates(searcher) -> None:
    facets = searcher.search("size", k=5, settings=LEXICAL).facets
    assert facets["brand"].set_index("value")["count"].to_dict() == {"Stride": 2}


@pytest.mark.parametrize("fusion", ["convex", "rrf"])
def test_fusion_weight_moves_results_towards_its_side(searcher, fusion) -> None:
    # BM25 alone prefers the product that repeats the query's word; meaning prefers another.
    query = "computer pointing device"
    lex_first = ids(searcher.search(query, k=12, settings=LEXICAL))[0]
    sem_first = ids(searcher.search(query, k=12, settings=SEMANTIC))[0]
    assert lex_first != sem_first
    lex_ranks, sem_ranks = [], []
    for w in np.linspace(0, 1, 11):
        order = ids(searcher.search(query, k=12, settings=SearchSettings(lexical_weight=w,
                                                                         fusion=fusion)))
        lex_ranks.append(order.index(lex_first))
        sem_ranks.append(order.index(sem_first))
    assert lex_ranks == sorted(lex_ranks, reverse=True) and lex_ranks[0] > lex_ranks[-1]
    assert sem_ranks == sorted(sem_ranks) and sem_ranks[0] < sem_ranks[-1]


def test_personal_weight_moves_the_shoppers_taste_up(index, shop) -> None:
    ds, service = shop
    searcher = Searcher(index, service)
    audio_fan, _ = service.encode(["p05", "p06", "p05"])  # p01 sits in the audio shoppers' baskets
    query = "lumio wireless mouse"
    plain = searcher.search(query, k=5)
    assert ids(plain)[0] == "p02" and not plain.personalised
    ranks = []
    for w in np.linspace(0, 1, 6):
        got = searcher.search(query, k=5, history=audio_fan, settings=SearchSettings(personal=w))
        ranks.append(ids(got).index("p01"))
        assert got.personalised == (w > 0)
    assert ranks == sorted(ranks, reverse=True) and ranks[0] > 0 and ranks[-1] == 0
    # weight 0 is the query alone; so is an anonymous shopper at any weight
    zero = searcher.search(query, k=5, history=audio_fan, settings=SearchSettings(personal=0.0))
    anonymous = searcher.search(query, k=5, settings=SearchSettings(personal=1.0))
    assert ids(zero) == ids(plain) == ids(anonymous)
    assert np.isfinite(got.frame["personal"]).all() and plain.frame["personal"].isna().all()


def test_empty_query_and_empty_catalog_say_what_to_do(searcher, index) -> None:
    for query in ("", "   ", None):
        with pytest.raises(RecdashError, match="query is empty"):
            searcher.search(query)
    empty = Searcher(SearchIndex.build(known.catalog().iloc[:0], np.zeros((0, 384), np.float32)))
    with pytest.raises(RecdashError, match="no products"):
        empty.search("mouse")
    with pytest.raises(RecdashError, match="out of range"):
        searcher.search("mouse", k=0)


def test_nothing_found_falls_back_and_says_so(index, shop) -> None:
    _, service = shop
    result = Searcher(index, service).search("qwxz", k=3, semantic=False)
    assert ids(result)[0] == "p01"  # the best seller
    assert any("best sellers" in n for n in result.notes)


def test_index_is_cached_in_the_workspace_and_rebuilt_when_the_catalog_changes(
        workspace, monkeypatch) -> None:
    ds, _ = prepare_dataset("known", known.log(), known.catalog())
    workspace.save_dataset(ds)
    ds = workspace.load_dataset("known")
    first = load_or_build(workspace, ds, semantic=False)
    folder = workspace.dataset_dir("known") / search_index.FOLDER
    assert [p.name for p in folder.iterdir()] == [first.key]

    builds = []
    real_build = SearchIndex.build.__func__
    monkeypatch.setattr(SearchIndex, "build", classmethod(
        lambda cls, *a, **kw: builds.append(1) or real_build(cls, *a, **kw)))
    again = load_or_build(workspace, ds, semantic=False)
    assert not builds and again.key == first.key
    assert ids(Searcher(again).search("rx580", k=1)) == ["p03"]

    changed = known.catalog()
    changed.loc[changed.item_id == "p03", "title"] = "Voltix RX590 Graphics Card 8GB"
    ds2, _ = prepare_dataset("known", known.log(), changed)
    workspace.save_dataset(ds2, overwrite=True)
    rebuilt = load_or_build(workspace, workspace.load_dataset("known"), semantic=False)
    assert builds and rebuilt.key != first.key
    assert [p.name for p in folder.iterdir()] == [rebuilt.key]  # the stale one is gone
    assert ids(Searcher(rebuilt).search("rx590", k=1)) == ["p03"]


def test_a_damaged_index_is_rebuilt(workspace) -> None:
    ds, _ = prepare_dataset("known", known.log(), known.catalog())
    workspace.save_dataset(ds)
    ds = workspace.load_dataset("known")
    first = load_or_build(workspace, ds, semantic=False)
    stored = workspace.dataset_dir("known") / search_index.FOLDER / first.key
    (stored / "vocabulary.json").write_text("{not json", encoding="utf-8")
    again = load_or_build(workspace, ds, semantic=False)
    assert ids(Searcher(again).search("kettle", k=1)) == ["p09"]
    assert (stored / "vocabulary.json").read_text(encoding="utf-8").startswith("[")


def test_taste_reorders_only_the_most_relevant_candidates(index, shop) -> None:
    _, service = shop
    searcher = Searcher(index, service)
    audio_fan, _ = service.encode(["p05", "p06", "p05"])
    plain = ids(searcher.search("lumio wireless mouse", k=6))
    top2 = ids(searcher.search("lumio wireless mouse", k=6, history=audio_fan,
                               settings=SearchSettings(personal=1.0, depth=2)))
    assert set(top2[:2]) == set(plain[:2]) and top2[:2] == ["p01", "p02"]  # the mice, swapped
    assert top2[2:] == plain[2:]  # the headphones the fan likes stay below what matches


def test_a_diversity_step_reorders_the_results_the_run_knows(index, shop) -> None:
    _, service = shop
    searcher = Searcher(index, service)
    plain = ids(searcher.search("wireless mouse headphones", k=4))
    seen = []

    def reverse(candidates, scores, history):  # a stand-in re-ranking: reverses its input
        seen.append(list(scores))
        return candidates[::-1]

    reranked = ids(searcher.search("wireless mouse headphones", k=4, rerank=(reverse, 4)))
    assert reranked == plain[::-1]
    assert seen[0] == sorted(seen[0], reverse=True)  # it was given the list best first


def test_products_with_missing_details_are_searchable() -> None:
    catalog = known.catalog().astype({"brand": "string", "category": "string"})
    catalog.loc[catalog.item_id == "p09", ["brand", "category", "price"]] = None
    searcher = Searcher(SearchIndex.build(catalog))  # lexical only
    row = searcher.search("kettle", k=1).frame.iloc[0]
    assert row["item_id"] == "p09" and row["brand"] is None and np.isnan(row["price"])
    assert np.isnan(row["semantic"]) and row["matched"] == ["Kettle"]
    assert searcher.search("kettle", k=5, filters=Filters(price=(0.0, None))).frame[
        "item_id"].tolist() != ["p09"]


def test_without_the_text_model_search_falls_back_to_words_and_says_so(index) -> None:
    class Missing:
        def encode(self, texts):
            raise RecdashError("the all-MiniLM-L6-v2 model is not installed")

    result = Searcher(index, encoder=Missing()).search("rx580", k=2)
    assert ids(result)[0] == "p03" and result.frame["semantic"].isna().all()
    assert any("Words only" in n and "not installed" in n for n in result.notes)
    lexical = Searcher(SearchIndex.build(known.catalog())).search("kettle", k=1)
    assert ids(lexical) == ["p09"] and any("no text vectors" in n for n in lexical.notes)


def test_filter_options_list_the_catalogs_values() -> None:
    from recdash.search.settings import FilterOptions

    options = FilterOptions.of(known.catalog())
    assert options.brands[:2] == ("Brewmaster", "Brightline") and len(options.brands) == 9
    assert "Electronics > Audio > Headphones" in options.categories
    assert options.price == (15.0, 300.0)
    assert FilterOptions.of(known.catalog().iloc[:1]).price is None  # one price: no range


@pytest.mark.parametrize("query", ["wireless mouse", "8 gb graphics card rx580", "kettle",
                                   "brewmaster coffee grinder coffee"])
def test_bm25_scores_are_bm25s_own(searcher, query) -> None:
    """The BM25 scores read from the index's score matrix are what bm25s computes."""
    terms, _, _ = searcher.analyse(query)
    assert terms
    got = searcher.lexical_scores(terms)
    want = searcher.index.bm25.get_scores(list(terms))
    assert got.shape == want.shape and (got > 0).any()
    assert np.allclose(got, want, rtol=1e-6, atol=1e-7)


def test_searchers_of_one_process_share_one_loaded_query_encoder(workspace) -> None:
    from recdash.search import api

    ds, _ = prepare_dataset("known", known.log(), known.catalog())
    workspace.save_dataset(ds)
    first = api.open_searcher(workspace, "known", personalise=False).searcher
    second = api.open_searcher(workspace, "known", personalise=False).searcher
    assert first._encoder is second._encoder  # one model load and export check per process
    assert first._encoder.loaded  # loaded when opened, not on the first query
    assert ids(second.search("device to boil water", k=1)) == \
        ids(Searcher(first.index).search("device to boil water", k=1))


def test_the_runs_codes_are_the_models_own(index, shop) -> None:
    _, service = shop
    searcher = Searcher(index, service)
    rows = np.arange(len(index))
    np.testing.assert_array_equal(searcher.run_codes(rows[::-1]),
                                  service.model.codes_of(index.items[rows[::-1]]))
    assert (Searcher(index).run_codes(rows) == -1).all()  # no run: every product is new
