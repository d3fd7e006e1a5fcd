"""Readers of the public layouts, on small fixtures and (where present) on the real files."""

from __future__ import annotations

import gzip

import pytest

from recdash.data import schema as S
from recdash.data.dataset import prepare_public
from tests.conftest import dataset_dir


def _write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))


def test_movielens_layout(tmp_path):
    _write(tmp_path / "movies.dat", "1::Amélie (2001)::Comedy|Romance\n2::Heat (1995)::Action\n",
           "latin-1")
    inter = "user_id\tmovie_id\tposition\n7\t2\t1\n7\t1\t0\n8\t1\t0\n8\t2\t1\n"
    (tmp_path / "interactions.tsv.gz").write_bytes(gzip.compress(inter.encode()))
    ds, report = prepare_public("ml", tmp_path)
    assert report.ok
    # Order comes from `position`, not from the file order.
    assert ds.interactions[S.ITEM].tolist() == ["1", "2", "1", "2"]
    cat = ds.catalog.set_index(S.ITEM)
    assert cat.loc["1", S.TITLE] == "Amélie (2001)" and cat.loc["1", S.CATEGORY] == "Comedy"
    assert "no_timestamps" in report.codes("info")


def test_movielens_ratings_dat_has_timestamps(tmp_path):
    _write(tmp_path / "movies.dat", "1::A (2001)::Comedy\n2::B (1995)::Action\n", "latin-1")
    _write(tmp_path / "ratings.dat", "7::2::5::978300760\n7::1::3::978300700\n")
    ds, report = prepare_public("ml", tmp_path)
    assert ds.interactions[S.ITEM].tolist() == ["1", "2"]  # sorted by time
    assert ds.interactions[S.VALUE].tolist() == [3.0, 5.0]


def test_recbole_benchmark_files_rebuild_whole_sequences(tmp_path):
    head = "user_id:token\titem_id_list:token_seq\titem_id:token\n"
    # User 0's sequence is 0 1 2 3 4; train rows are newest-first.
    _write(tmp_path / "S.train.inter", head + "0\t0 1\t2\n0\t0\t1\n")
    _write(tmp_path / "S.valid.inter", head + "0\t0 1 2\t3\n")
    _write(tmp_path / "S.test.inter", head + "0\t0 1 2 3\t4\n")
    _write(tmp_path / "S.item2index", "".join(f"A{i}\t{i}\n" for i in range(5)))
    _write(tmp_path / "S.user2index", "REV0\t0\n")
    _write(tmp_path / "S.text", "item_id:token\ttext:token_seq\n" + "".join(
        f"A{i}\tThing {i}. Lab Supplies Tapes. Brand{i}. \n" for i in range(5)))
    ds, report = prepare_public("s", tmp_path)
    assert report.ok
    assert ds.interactions[S.ITEM].tolist() == ["A0", "A1", "A2", "A3", "A4"]
    assert set(ds.interactions[S.USER]) == {"REV0"}
    row = ds.catalog.set_index(S.ITEM).loc["A3"]
    assert (row[S.TITLE], row[S.CATEGORY], row[S.BRAND]) == ("Thing 3", "Lab Supplies Tapes",
                                                           "Brand3")


def test_recbole_atomic_inter(tmp_path):
    _write(tmp_path / "x.inter", "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
           "u\ti2\t4\t20\nu\ti1\t5\t10\n")
    ds, report = prepare_public("x", tmp_path, layout="recbole")
    assert ds.interactions[S.ITEM].tolist() == ["i1", "i2"]


def test_sequence_file(tmp_path):
    path = tmp_path / "user_sequence.txt"
    _write(path, "A1 i1 i2 i3\nA2 i3 i1\n")
    ds, report = prepare_public("b", path)
    assert ds.interactions[S.ITEM].tolist() == ["i1", "i2", "i3", "i3", "i1"]
    assert "no_catalog" in report.codes("info")


@pytest.mark.realdata
def test_real_movielens_5core_matches_the_published_counts():
    ds, report = prepare_public("ml-1m", dataset_dir("ml-1m"), kcore=5)
    assert report.ok
    assert (report.stats["users"], report.stats["items_with_events"], report.stats["events"]) \
        == (6040, 3416, 999611)
    assert ds.catalog.set_index(S.ITEM).loc["1", S.TITLE] == "Toy Story (1995)"


@pytest.mark.realdata
@pytest.mark.parametrize("name, users, items, events", [
    ("amazon-beauty", 22363, 12101, 198502),
    ("amazon-scientific", 8442, 4385, 59427),
    ("amazon-games", 50546, 16859, 440264),
])
def test_real_amazon_layouts_match_their_readmes(name, users, items, events):
    ds, report = prepare_public(name, dataset_dir(name))
    assert report.ok
    assert (report.stats["users"], report.stats["items_with_events"], report.stats["events"]) \
        == (users, items, events)
    if name != "amazon-beauty":
        assert ds.catalog[S.TITLE].notna().all()
