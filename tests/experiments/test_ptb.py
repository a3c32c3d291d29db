"""ptb-word and ptb-bpe: exact perplexity over a whole split (each target scored once, with context), and
learning tests on a slice of the train split."""

import json
import math

import pytest
import torch

from nanozoo.experiments import runner
from nanozoo.experiments.ptb import PTBData, scored_windows

TINY = [
    *("model.n_layer=1", "model.n_head=2", "model.n_embd=32", "model.block_size=32", "model.dropout=0"),
    *("train.batch_size=16", "train.max_iters=120", "train.eval_interval=120", "train.eval_iters=4"),
    *("train.warmup_iters=10", "train.lr=3e-3", "train.progress=false", "train.threads=0"),
    *("data.sample_tokens=20", "data.train_lines=1000", "data.eval_lines=300"),
]


@pytest.mark.parametrize("n, T", [(100, 8), (101, 8), (8, 8), (5, 8), (64, 1)])
def test_scored_windows_score_every_target_once_with_context(n, T):
    stream = torch.arange(n) + 1
    X, Y = scored_windows(stream, T)
    S = max(T // 2, 1)
    scored = Y[Y != -1]
    assert sorted(scored.tolist()) == list(range(2, n + 1))  # every target stream[1:], once
    for k in range(len(X)):
        for t in range(T):
            if Y[k, t] != -1:
                assert Y[k, t] == X[k, t] + 1  # y is x shifted by one (stream values are consecutive)
                assert k == 0 or t >= T - S  # after the first window: at least T - S tokens before it


def metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_ptb_word_learns_and_reports_test_perplexity(tmp_path, need_data):
    need_data("ptb", "ptb.train.txt")
    run_dir, final = runner.train("ptb-word", TINY, runs_root=tmp_path)
    V = len((run_dir / "words.txt").read_text().split())
    assert 3000 < V < 10000 and "<eos>" in (run_dir / "words.txt").read_text().split()  # a slice's words
    # 120 steps of a 1x32 GPT on 1,000 sentences: from V (uniform, ~3,500) to under 700 on the whole test
    # split (its unigram perplexity is ~700-800; the words outside the slice count as <unk>)
    assert final["test_ppl"] < 700
    assert final["test_ppl"] == pytest.approx(math.exp(final["test_loss"]), rel=1e-6)
    val = [m["val_ppl"] for m in metrics(run_dir) if "val_ppl" in m]
    assert len(val) == 2 and val[0] > 0.8 * V and val[1] < 700  # step 0 and the last step, exact
    assert len((run_dir / "samples.txt").read_text().split()) >= 15  # words, some of them "\n"
    check_sampling(run_dir, "the company said")


def check_sampling(run_dir, prompt):
    """`nanozoo sample RUN` prints the prompt, then the tokens the model draws after an end of sentence
    and the prompt: greedy, exactly those of `generate` on the same ids."""
    from nanozoo.experiments import SampleOptions
    from nanozoo.experiments.registry import load_model

    greedy = SampleOptions(prompt=prompt, max_new_tokens=12, temperature=0)
    text = "".join(runner.sample(run_dir, greedy))
    assert text.startswith(prompt)
    model, _ = load_model(run_dir)
    if (run_dir / "words.txt").is_file():
        itos = (run_dir / "words.txt").read_text().split()
        ids = [itos.index("<eos>")] + [itos.index(w) for w in prompt.split()]
        new = model.generate(torch.tensor([ids]), 12, temperature=0)[0, len(ids) :]
        expected = "".join("\n" if itos[t] == "<eos>" else " " + itos[t] for t in new)
        assert set(text.split()) <= set(itos)  # words of the vocabulary
    else:
        from nanozoo.experiments.lm import load_tokenizer

        tok = load_tokenizer(run_dir)
        ids = tok.encode(" \n " + prompt)
        expected = tok.decode(model.generate(torch.tensor([ids]), 12, temperature=0)[0, len(ids) :].tolist())
    assert text == prompt + expected
    drawn = SampleOptions(prompt=prompt, max_new_tokens=12, seed=3, num=2)
    again = "".join(runner.sample(run_dir, drawn))
    assert again == "".join(runner.sample(run_dir, drawn)) and again.count(prompt) == 2


def test_a_word_run_refuses_a_prompt_word_outside_its_vocabulary(tmp_path):
    from nanozoo.experiments import SampleOptions, ptb
    from nanozoo.experiments.registry import ExperimentError

    (tmp_path / "words.txt").write_text("<unk>\n<eos>\nthe\n")  # refused before the model is loaded
    with pytest.raises(ExperimentError, match="'The 1987' not among the run's 3 words"):
        list(ptb.sample(tmp_path, SampleOptions(prompt="The 1987 the")))


def test_ptb_bpe_reports_perplexity_per_word(tmp_path, need_data):
    need_data("ptb", "ptb.train.txt")
    run_dir, final = runner.train("ptb-bpe", [*TINY, "data.vocab_size=512"], runs_root=tmp_path)
    # per word: the same nats over the 82,430 words and <eos> of the test split, not its BPE tokens
    tokens_per_word = math.log(final["test_ppl_word"]) / math.log(final["test_ppl"])
    assert 1.8 < tokens_per_word < 3.0  # 512 tokens learnt from 1,000 sentences: ~2.4 a word
    assert final["test_ppl"] < 200  # per token, from 512 (uniform)
    val = [m["val_ppl_word"] for m in metrics(run_dir) if "val_ppl_word" in m]
    assert val[-1] < val[0] / 10  # per word: from ~512 ** 2.4 (millions) at step 0
    assert (run_dir / "tokenizer.model").is_file()
    check_sampling(run_dir, "the company said")


def test_ptb_data_is_checked():
    with pytest.raises(ValueError, match="data.tokenizer='char'"):
        PTBData(tokenizer="char")
    with pytest.raises(ValueError, match="data.train_lines=-1"):
        PTBData(train_lines=-1)
