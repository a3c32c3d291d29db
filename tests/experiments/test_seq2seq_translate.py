"""Translation end to end on a slice of Multi30k: BPE, training, BLEU in metrics.jsonl, nanozoo translate."""

import json

import pytest
import torch

from nanozoo.experiments import runner, seq2seq
from nanozoo.experiments.seq2seq import Codec, bleu
from nanozoo.tokenizers import RegexTokenizer

TINY = ["model.n_layer=1", "model.n_embd=64", "model.n_head=2", "model.block_size=48", "data.bpe_vocab=600"]
TINY += ["train.max_iters=100", "train.eval_interval=100", "train.eval_iters=4", "train.warmup_iters=30"]
TINY += ["train.batch_size=32", "train.lr=3e-3", "data.eval_sentences=16", "data.beam_size=2"]
TINY += ["train.progress=false"]


@pytest.fixture(scope="module")
def run(tmp_path_factory, need_data):
    """A translate-multi30k run on the first 3,000 training pairs and 16 of each test split (~20 s)."""
    need_data("multi30k", "train.en.gz")
    full = seq2seq.text_pairs
    sizes = {"train": 3000}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            seq2seq,
            "text_pairs",
            lambda d, data_dir: {k: v[: sizes.get(k, 16)] for k, v in full(d, data_dir).items()},
        )
        run_dir, metrics = runner.train("translate-multi30k", TINY, runs_root=tmp_path_factory.mktemp("runs"))
        yield run_dir, metrics, mp


def test_translation_learns_and_logs_bleu_on_every_test_split(run):
    run_dir, metrics, _ = run
    logged = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    first_val = logged[0]["val_loss"]
    assert metrics["val_loss"] < 0.75 * first_val, (first_val, metrics)  # untrained: about log(V)
    final = logged[-1]
    assert {"test_bleu", "test_bleu_2017", "test_bleu_mscoco2017", "test_bleu_2018"} <= set(final)
    assert all(0.0 <= final[k] <= 100.0 for k in final if k.endswith("_bleu"))
    assert "== test: BLEU" in (run_dir / "samples.txt").read_text()
    assert (run_dir / "attention.png").is_file() and (run_dir / "tokenizer.model").is_file()


def test_nanozoo_translate_prints_translations_bleu_and_draws_attention(run, cli, tmp_path):
    run_dir, _, mp = run
    code, out, err = cli(["translate", str(run_dir), "A man is riding a bike.", "Two dogs.", "--beam", "2"])
    assert code == 0, err
    assert len(out.splitlines()) == 2
    png = tmp_path / "att.png"
    code, out, err = cli(["translate", str(run_dir), "A dog runs.", "--attention", str(png), "--beam", "1"])
    assert code == 0 and png.stat().st_size > 1000, err
    code, out, err = cli(["translate", str(run_dir), "--bleu", "val", "--beam", "1"])
    assert code == 0 and out.startswith("BLEU "), err
    for args, message in [
        (["--bleu", "test2019"], "has the splits val, test"),
        (["", "--beam", "1"], "non-empty sentence"),
        (["x", "--beam", "0"], "beam size must be >= 1"),
        (["x", "--bleu", "val"], "give no SENTENCE"),
    ]:
        code, out, err = cli(["translate", str(run_dir), *args])
        assert code == 1 and err.startswith("error: ") and message in err, (args, err)
    code, _, err = cli(["translate", str(tmp_path), "x"])
    assert code == 1 and "not a nanozoo run folder" in err
    toy = runner.train("seq2seq-copy", ["train.max_iters=1", "train.eval_iters=0"], runs_root=tmp_path)[0]
    code, _, err = cli(["translate", str(toy), "x"])
    assert code == 1 and "not of a translate-* experiment" in err


def test_codec_shifts_bpe_ids_past_the_special_ones_and_bleu_is_sacrebleus(need):
    sacrebleu = need("sacrebleu")
    tok = RegexTokenizer("gpt4")
    tok.train("ein mann fährt rad\na man rides a bike\n" * 20, 270)
    codec = Codec(tok)
    ids = codec.encode("a man rides")
    assert min(ids) >= seq2seq.OFFSET and codec.decode([*ids, seq2seq.EOS, 7]) == "a man rides"
    assert codec.vocab_size == tok.vocab_size + seq2seq.OFFSET
    hyp, ref = ["the cat sat on the mat", "a dog"], ["the cat sat on a mat", "a dog runs"]
    assert bleu(hyp, ref) == sacrebleu.corpus_bleu(hyp, [ref]).score
    assert bleu(ref, ref) == pytest.approx(100.0)


def test_training_batches_hold_pairs_of_similar_length():
    gen = torch.Generator().manual_seed(0)
    data = [([3] * n, [4] * (n // 2 + 1)) for n in range(1, 2001)]  # sorted by length, as the setup sorts
    for _ in range(20):
        batch = seq2seq.similar_lengths(data, 16, 64, gen)
        lengths = [len(s) for s, _ in batch]
        assert len(batch) == 16 and max(lengths) - min(lengths) < 64  # all out of one window of 64
    src, _, tgt_out = seq2seq.pad_pairs(batch)
    assert seq2seq.real_tokens((src, None, tgt_out)) / (src.numel() + tgt_out.numel()) > 0.9
    assert seq2seq.similar_lengths(data[:5], 16, 64, gen)  # fewer pairs than a window: the whole set
