"""Parallel corpora: Multi30k's aligned splits, Tatoeba's pairs, a split that keeps a source in one."""

import pytest

from nanozoo.data import DataError
from nanozoo.data.pairs import MULTI30K_FILES, multi30k, split_by_source, tatoeba


def test_multi30k_splits_are_aligned_and_have_the_published_sizes(need_data):
    need_data("multi30k", "train.en.gz")
    sizes = {"train": 29000, "val": 1014, "test": 1000, "test2017": 1000, "mscoco2017": 461, "test2018": 1071}
    assert set(sizes) == set(MULTI30K_FILES)
    for split, n in sizes.items():
        pairs = multi30k(split)
        assert len(pairs) == n and all(s and t for s, t in pairs)
    assert multi30k("test")[0][1].startswith("Ein Mann mit einem orangefarbenen Hut")
    de_en = multi30k("val", src="de", tgt="en")
    assert de_en[0] == multi30k("val")[0][::-1]
    with pytest.raises(DataError, match="splits: train"):
        multi30k("dev")
    with pytest.raises(DataError, match="en and de"):
        multi30k("val", tgt="fr")


def test_tatoeba_pairs_and_a_split_by_source(need_data):
    need_data("tatoeba", "fra-eng.zip")
    pairs = tatoeba()
    assert len(pairs) == 142787 and pairs[0] == ("Go.", "Va !")
    splits = split_by_source(pairs, 0.01, 0.01)
    assert sum(len(v) for v in splits.values()) == len(pairs)
    assert 0.005 < len(splits["test"]) / len(pairs) < 0.015
    sources = {k: {s for s, _ in v} for k, v in splits.items()}
    assert not sources["train"] & sources["test"] and not sources["val"] & sources["test"]
    assert split_by_source(pairs[::-1], 0.01, 0.01)["test"] == splits["test"][::-1]  # order-independent
