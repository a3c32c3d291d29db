"""Entity F1: hand-computed cases, and PyPI seqeval on the same (random and real CoNLL) tag sequences."""

import random

import pytest

from nanozoo.experiments.ner_metrics import entities, f1, scores


def test_entities_by_hand():
    # IOB1 (CoNLL-2003): I- starts an entity, B- only splits two adjacent entities of one type
    assert entities(["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"]) == [
        ("PER", 0, 1),
        ("LOC", 3, 3),
        ("LOC", 4, 4),
        ("ORG", 5, 5),
    ]
    # IOB2, a type change inside a run, IOBES, and sentences joined with an O between them
    assert entities(["B-PER", "I-PER", "I-LOC"]) == [("PER", 0, 1), ("LOC", 2, 2)]
    assert entities(["S-PER", "B-LOC", "E-LOC", "I-LOC"]) == [("PER", 0, 0), ("LOC", 1, 2), ("LOC", 3, 3)]
    assert entities([["I-PER"], ["I-PER"]]) == [("PER", 0, 0), ("PER", 2, 2)]
    assert entities(["O", "O"]) == []


def test_scores_by_hand():
    y_true = [["I-PER", "I-PER", "O", "I-LOC"], ["I-ORG", "O"]]
    y_pred = [["I-PER", "O", "O", "I-LOC"], ["I-ORG", "I-MISC"]]
    # true: PER(0,1) LOC(3,3) ORG(5,5); predicted: PER(0,0) LOC ORG MISC(6,6): 2 right of 4, 2 of 3 found
    s = scores(y_true, y_pred)
    assert s["micro"]["precision"] == 0.5 and s["micro"]["recall"] == pytest.approx(2 / 3)
    assert s["micro"]["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert s["PER"]["f1"] == 0.0 and s["LOC"]["f1"] == 1.0 and s["MISC"]["support"] == 0
    assert f1(y_true, y_true) == 1.0 and f1([["O"]], [["O"]]) == 0.0  # nothing to find: 0, as seqeval
    with pytest.raises(ValueError, match="same number of tags"):
        scores([["O", "O"]], [["O"]])


def _random_tags(rng, n):
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG", "E-ORG", "S-MISC", "I-MISC"]
    return [[rng.choice(tags) for _ in range(rng.randint(1, 8))] for _ in range(n)]


def test_equals_seqeval_on_random_tags(need):
    sq = need("seqeval.metrics")
    rng = random.Random(0)
    for _ in range(200):
        y_true = _random_tags(rng, rng.randint(1, 5))
        y_pred = [[rng.choice([t, "O", "I-PER", "B-LOC"]) for t in s] for s in y_true]
        assert f1(y_true, y_pred) == pytest.approx(sq.f1_score(y_true, y_pred, zero_division=0), abs=1e-12)
        assert scores(y_true, y_pred)["micro"]["precision"] == pytest.approx(
            sq.precision_score(y_true, y_pred, zero_division=0), abs=1e-12
        )


def test_equals_seqeval_on_conll(need, need_data):
    sq = need("seqeval.metrics")
    from nanozoo.data.conll import read_conll

    sentences = read_conll(need_data("conll2003", "eng.testa"))
    y_true = [tags for _, tags in sentences]
    assert len(sentences) == 3250 and len(entities(y_true)) == 5942  # SOURCES.md: the validation entities
    rng = random.Random(1)
    kinds = ["O", "I-PER", "I-ORG", "I-LOC", "I-MISC", "B-LOC"]
    y_pred = [[t if rng.random() < 0.9 else rng.choice(kinds) for t in s] for s in y_true]
    ours, theirs = scores(y_true, y_pred), sq.classification_report(y_true, y_pred, output_dict=True)
    assert ours["micro"]["f1"] == pytest.approx(theirs["micro avg"]["f1-score"], abs=1e-12)
    for type_ in ("PER", "ORG", "LOC", "MISC"):
        assert ours[type_]["f1"] == pytest.approx(theirs[type_]["f1-score"], abs=1e-12)
        assert ours[type_]["support"] == theirs[type_]["support"]
