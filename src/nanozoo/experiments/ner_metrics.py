"""Entity-level precision, recall and F1 for tagged sequences, computed as `seqeval` computes them.

An entity is a maximal run of tags of one type: (type, first, last). The run starts at a B- tag, or at an
I- tag after O or after a tag of another type (so IOB1, where B- appears only between two adjacent
entities of one type, and IOB2, where every entity starts with B-, both read right); it ends before O,
before a B-, or before a tag of another type. E- and S- (IOBES) end and make one-token entities. A
predicted entity counts only if its type and both ends equal a true one. Micro averages pool every
entity of every type: precision = correct / predicted, recall = correct / true, F1 their harmonic mean
(0 when undefined, as seqeval). Sentences are joined with an O between them, as seqeval does.

This is seqeval 1.2.2's default mode (`seqeval.metrics.f1_score(y_true, y_pred)`), which the CoNLL-2003
perl script `conlleval` also follows; tests/experiments/test_ner_metrics.py checks both on the same tags.
"""

from __future__ import annotations

from collections import Counter


def _split(tag: str) -> tuple[str, str]:
    """ "B-PER" -> ("B", "PER"); "O" -> ("O", "_")."""
    return tag[0], tag[2:] or "_"


def _ends(prev: str, prev_type: str, tag: str, type_: str) -> bool:
    """Whether the entity running at the previous tag ends before this one."""
    return prev in "ES" or (prev in "BI" and tag in "BSO") or (prev != "O" and prev_type != type_)


def _starts(prev: str, prev_type: str, tag: str, type_: str) -> bool:
    """Whether an entity starts at this tag."""
    return tag in "BS" or (prev in "ESO" and tag in "EI") or (tag != "O" and prev_type != type_)


def entities(tags: list[str] | list[list[str]]) -> list[tuple[str, int, int]]:
    """(type, first, last) of every entity, positions in the sentences joined with an "O" between."""
    if tags and isinstance(tags[0], list):
        tags = [t for sentence in tags for t in [*sentence, "O"]]
    out, prev, prev_type, begin = [], "O", "_", 0
    ### BEGIN SOLUTION
    for i, t in enumerate([*tags, "O"]):  # the closing O ends the last entity
        tag, type_ = _split(t)
        if _ends(prev, prev_type, tag, type_):
            out.append((prev_type, begin, i - 1))
        if _starts(prev, prev_type, tag, type_):
            begin = i
        prev, prev_type = tag, type_
    ### END SOLUTION
    return out


def _prf(correct: int, n_pred: int, n_true: int) -> dict[str, float]:
    p = correct / n_pred if n_pred else 0.0
    r = correct / n_true if n_true else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "support": n_true}


def scores(y_true: list[list[str]], y_pred: list[list[str]]) -> dict[str, dict[str, float]]:
    """{"micro": {...}, "PER": {...}, ...}: precision, recall, F1 and support (true entities) per type."""
    if len(y_true) != len(y_pred) or any(len(a) != len(b) for a, b in zip(y_true, y_pred, strict=True)):
        raise ValueError("y_true and y_pred must hold the same number of tags, sentence by sentence")
    true, pred = set(entities(y_true)), set(entities(y_pred))
    correct = true & pred
    out = {"micro": _prf(len(correct), len(pred), len(true))}
    n_true, n_pred, n_ok = (Counter(e[0] for e in s) for s in (true, pred, correct))
    for type_ in sorted(n_true | n_pred):
        out[type_] = _prf(n_ok[type_], n_pred[type_], n_true[type_])
    return out


def f1(y_true: list[list[str]], y_pred: list[list[str]]) -> float:
    """Micro-averaged entity F1 (seqeval's `f1_score`)."""
    return scores(y_true, y_pred)["micro"]["f1"]


__all__ = ["entities", "f1", "scores"]
