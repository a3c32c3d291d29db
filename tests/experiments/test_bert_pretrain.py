"""bert-mini-pretrain: a tiny BERT learns the masked LM on a slice of Penn Treebank, its run folder holds
what a fine-tune needs, resume is exact, and bert-sentiment starts from it (and from its control)."""

import pytest
import torch

from nanozoo.core.config import ConfigError
from nanozoo.core.runlog import read_metrics
from nanozoo.data import mlm
from nanozoo.experiments import get, runner
from nanozoo.experiments.bert_pretrain import PairSampler, PretrainData, first_sentences
from nanozoo.experiments.registry import load_model
from nanozoo.tokenizers.wordpiece import WordPieceTokenizer

TINY = [  # the default's 2 layers and 64 pieces a pair, narrower, on a slice
    "model.n_embd=64",
    "data.vocab_size=2000",
    "data.train_sentences=6000",
    "data.eval_pairs=128",
    "train.batch_size=16",
    "train.lr=2e-3",
    "train.warmup_iters=10",
    "train.progress=false",
    "train.log_interval=10",
]


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory, need_data):
    need_data("ptb", "ptb.train.txt")
    root = tmp_path_factory.mktemp("runs")
    run_dir, m = runner.train(
        "bert-mini-pretrain", TINY + ["train.max_iters=150", "train.eval_interval=150"], runs_root=root
    )
    return run_dir, m


def test_learns_the_masked_lm(pretrained):
    run_dir, m = pretrained
    first = read_metrics(run_dir)[0]
    assert first["val_mlm_acc"] < 0.01  # at init: no better than chance over 2,000 pieces
    # 150 steps of 16 pairs learn the pieces' frequencies, the plateau every BERT passes first (context
    # comes later: bert-mini-pretrain's 8,000 steps); measured: MLM loss 7.62 -> 6.40 nats, accuracy
    # 0.046 (the most frequent piece, "the", alone scores about that)
    assert m["val_mlm_loss"] < first["val_mlm_loss"] - 1.0
    assert m["val_mlm_acc"] > 0.03
    assert m["val_loss"] == pytest.approx(m["val_mlm_loss"] + m["val_nsp_loss"])
    assert m["test_mlm_acc"] > 0.03 and 0.0 <= m["test_nsp_acc"] <= 1.0  # ptb.test.txt, scored once
    for name in ("vocab.txt", "heads.png", "loss.png", "samples.txt"):
        assert (run_dir / name).is_file()
    assert "truth:" in (run_dir / "samples.txt").read_text()
    tok = WordPieceTokenizer.from_file(run_dir / "vocab.txt")
    assert tok.vocab_size == 2000 and "the" in tok.vocab and "," in tok.vocab  # PTB lacks commas: ALPHABET
    model, cfg = load_model(run_dir)
    assert cfg.model.vocab_size == 2000 and model.mlm.decoder.weight is model.bert.wte.weight


def test_sentiment_starts_from_the_pretrained_run_and_its_control(pretrained, tmp_path, need_data):
    need_data("sentiment", "SST-2/train.tsv")
    run_dir, _ = pretrained
    pre, _ = load_model(run_dir)
    quick = ["train.progress=false", "train.eval_iters=1", "train.max_iters=1", "train.eval_interval=1"]
    quick += ["data.train_size=100", "data.val_size=16", "train.lr=1e-12", f"data.init={run_dir}"]
    runs = {w: runner.train("bert-sentiment", quick + [f"data.load_weights={w}"], runs_root=tmp_path)[0]
            for w in ("true", "false")}  # fmt: skip
    for loaded in runs.values():
        assert (loaded / "vocab.txt").read_text() == (run_dir / "vocab.txt").read_text()
    warm, warm_cfg = load_model(runs["true"])
    cold, cold_cfg = load_model(runs["false"])
    assert warm_cfg.model.n_layer == cold_cfg.model.n_layer == 2 and warm_cfg.model.dropout == 0.1
    q = pre.bert.h[1].attn.q.weight
    torch.testing.assert_close(warm.bert.h[1].attn.q.weight, q, atol=1e-6, rtol=0)  # lr 1e-12: carried over
    assert (cold.bert.h[1].attn.q.weight - q).abs().max() > 0.01  # the control starts from random weights


def test_task_adaptive_stage_continues_the_run_on_sst2_text(pretrained, tmp_path, need_data):
    """data.init=RUN data.corpus=sst2 data.nsp=false: the run's vocabulary, shape and weights, then the
    masked LM alone on SST-2's training phrases (no labels read)."""
    need_data("sentiment", "SST-2/train.tsv")
    run_dir, _ = pretrained
    pre, pre_cfg = load_model(run_dir)
    stage = ["data.corpus=sst2", "data.nsp=false", f"data.init={run_dir}", "data.train_sentences=2000"]
    stage += [
        "train.lr=1e-12",
        "train.min_lr=0",
        "train.max_iters=2",
        "train.eval_interval=2",
    ]
    tapt, m = runner.train("bert-mini-pretrain", TINY + stage, runs_root=tmp_path)
    assert (tapt / "vocab.txt").read_text() == (run_dir / "vocab.txt").read_text()
    model, cfg = load_model(tapt)
    assert cfg.model == pre_cfg.model  # the run's shape
    for name, w in pre.state_dict().items():  # every weight carried over (lr 1e-12), the NSP head too
        torch.testing.assert_close(model.state_dict()[name], w, atol=1e-6, rtol=0)
    assert not any("nsp" in k for row in read_metrics(tapt) for k in row) and "test_nsp_acc" not in m
    assert m["val_loss"] == pytest.approx(m["val_mlm_loss"])
    with pytest.raises(ConfigError, match="model.n_embd comes from the data"):  # the run's shape wins
        runner.train("bert-mini-pretrain", TINY + stage + ["model.n_embd=32"], runs_root=tmp_path / "z")
    with pytest.raises(ConfigError, match="data.vocab_size comes from the data"):  # the run's vocabulary
        runner.train("bert-mini-pretrain", TINY + stage + ["data.vocab_size=999"], runs_root=tmp_path / "v")
    with pytest.raises(ConfigError, match="data.corpus=sst2 has no documents"):
        runner.build_config(get("bert-mini-pretrain"), ["data.corpus=sst2"])
    with pytest.raises(ConfigError, match="data.init='/no/such' is not a finished BERT run folder"):
        runner.train("bert-mini-pretrain", TINY + ["data.init=/no/such"], runs_root=tmp_path / "x")
    fine, _ = runner.train(  # a fine-tune is a BERT run, but not a pretraining one
        "bert-sentiment",
        ["train.progress=false", "train.max_iters=1", "data.train_size=50", "data.val_size=8",
         "train.eval_interval=1", "train.eval_iters=1", f"data.init={tapt}"],
        runs_root=tmp_path / "f",
    )  # fmt: skip
    with pytest.raises(ConfigError, match="is a run of bert-sentiment, not of a BertForPreTraining"):
        runner.train("bert-mini-pretrain", TINY + [f"data.init={fine}"], runs_root=tmp_path / "y")


def test_masked_lm_alone_packs_one_segment():
    tok = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##b", "c", "d"])
    docs = [[[5, 6], [7], [8, 5], [7, 8]], [[7, 7]], [[5], [5, 6, 6], [8, 8, 7]]]
    sampler = PairSampler(tok, PretrainData(max_len=8, nsp=False, short_prob=0.0))
    inputs, segments, mask, labels = sampler.batch(docs, 32, torch.Generator().manual_seed(0))  # no NSP
    assert not segments.any() and inputs.size(1) <= 8
    original = torch.where(labels != -100, labels, inputs)
    flat = [t for d in docs for s in d for t in s]
    for row in range(32):
        real = original[row, : int(mask[row].sum())].tolist()
        assert real[0] == 2 and real[-1] == 3 and 3 not in real[1:-1]  # [CLS] pieces [SEP], one segment
        body = real[1:-1]
        assert any(flat[i : i + len(body)] == body for i in range(len(flat)))  # consecutive pieces
        assert len(body) == 6 or body == [7, 7]  # full, or a whole short document
    gen = torch.Generator().manual_seed(1)
    lengths = {len(mlm.segment(docs, 4, gen, short_prob=1.0)) for _ in range(200)}
    assert lengths == {1, 2, 3, 4}  # short_prob: a random shorter target


def test_resume_is_exact(tmp_path, need_data):
    need_data("ptb", "ptb.train.txt")
    fast = TINY + [
        "model.n_layer=1",
        "data.train_sentences=2000",
        "data.whole_word=true",
        "train.log_interval=1",
    ]
    fast += ["train.eval_interval=4", "data.eval_pairs=8"]
    whole, _ = runner.train("bert-mini-pretrain", fast + ["train.max_iters=8"], runs_root=tmp_path / "a")
    half, _ = runner.train(
        "bert-mini-pretrain", fast + ["train.max_iters=8"], runs_root=tmp_path / "b", until=4
    )
    runner.train("bert-mini-pretrain", fast + ["train.max_iters=8"], resume=half)
    losses = [[r["train_loss"] for r in read_metrics(d) if "train_loss" in r] for d in (whole, half)]
    assert len(losses[0]) == 8 and losses[0] == losses[1]


def test_pair_sampler_batches():
    tok = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##b", "c", "d"])
    docs = [[[5, 6], [7], [8, 5]], [[7, 7], [8]], [[5], [5, 6, 6]]]
    sampler = PairSampler(tok, PretrainData(max_len=9, whole_word=True))
    inputs, segments, mask, labels, nsp = sampler.batch(docs, 64, torch.Generator().manual_seed(0))
    assert inputs.shape == segments.shape == mask.shape == labels.shape and nsp.shape == (64,)
    assert inputs.size(1) <= 9 and (inputs[:, 0] == 2).all()  # [CLS] first, never masked
    scored = labels != -100
    assert not (scored & ~mask.bool()).any() and (scored.sum(1) >= 1).all()
    assert not torch.isin(labels[scored], torch.tensor([0, 2, 3])).any()  # [PAD], [CLS], [SEP] never
    # whole words: "a ##b" is masked together or not at all
    for row in range(64):
        for t in range(1, inputs.size(1) - 1):
            if labels[row, t + 1] == 6:  # a scored "##b" follows a scored word start
                assert labels[row, t] != -100
    sep_first = (segments == 1).float().argmax(1)  # segment B starts right after the first [SEP]
    for row in range(64):
        real = inputs[row, : int(mask[row].sum())]
        seps = [t for t in range(len(real)) if labels[row, t] == -100 and real[t] == 3]
        assert seps and int(sep_first[row]) == seps[0] + 1


def test_first_sentences_and_refusals(tmp_path):
    assert first_sentences([["a", "b"], ["c", "d"], ["e"]], 3) == [["a", "b"], ["c"]]
    with pytest.raises(ConfigError, match="data.corpus='wiki'"):
        runner.build_config(get("bert-mini-pretrain"), ["data.corpus=wiki"])
    with pytest.raises(ConfigError, match="data.max_len=256 is longer than model.block_size=64"):
        runner.train(
            "bert-mini-pretrain", ["data.max_len=256", "data.train_sentences=100"], runs_root=tmp_path
        )
    assert not (tmp_path / "bert-mini-pretrain").exists()
