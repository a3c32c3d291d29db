"""tinystories-llama-*: llama2.c's recipe end to end (vocabulary, pretokenized shards, training, int8 cost,
sampling) on a small archive of the real format in place of the 1.6 GB one."""

import numpy as np
import pytest

from nanozoo.core.runlog import read_metrics
from nanozoo.data import catalogue, tinystories
from nanozoo.experiments import registry, runner

TINY = [  # a Llama that trains in a second
    "model.n_layer=1", "model.n_head=2", "model.n_kv_head=1", "model.n_embd=16", "model.block_size=16",
    "train.batch_size=4", "train.max_iters=4", "train.eval_interval=2", "train.eval_iters=1",
    "train.warmup_iters=1", "train.progress=false", "data.sample_tokens=12", "data.workers=1",
]  # fmt: skip


@pytest.fixture
def archive(tmp_path, monkeypatch):
    words = "the cat dog sun ball ran sat big red happy park tree bird sang home".split()
    rng = np.random.default_rng(0)
    shards = [[" ".join(rng.choice(words, 12)).capitalize() + "." for _ in range(40)] for _ in range(3)]
    tinystories.write_archive(tmp_path / "data" / "tinystories" / tinystories.ARCHIVE, shards)
    monkeypatch.setattr(catalogue, "verify_file", lambda *a, **k: None)  # not the real archive's sha256
    monkeypatch.setenv("NANOZOO_CACHE", str(tmp_path / "cache"))
    return tmp_path / "data"


def test_the_260k_recipe_trains_a_vocabulary_of_its_own_and_samples(archive, tmp_path, cli):
    cfg = registry.get("tinystories-llama-260k").default_config()
    assert (cfg.model.n_embd, cfg.model.n_layer, cfg.model.n_head, cfg.model.n_kv_head) == (64, 5, 8, 4)
    assert cfg.model.ffn_dim == 172 and cfg.model.block_size == 512 and cfg.data.vocab_size == 512
    run_dir, m = runner.train(
        "tinystories-llama-260k", TINY + ["data.vocab_size=300"], data_dir=archive, runs_root=tmp_path / "r"
    )
    assert np.isfinite(m["val_loss"]) and abs(m["val_loss_int8"] - m["val_loss_fp32"]) < 0.5
    assert (run_dir / "sentencepiece.model").is_file()
    shards = sorted((tmp_path / "cache" / "tinystories").glob("tok-custom300-*/data*.bin"))
    assert len(shards) == 3 and np.fromfile(shards[0], dtype=np.uint16)[0] == 1  # BOS first
    code, out, err = cli(["sample", str(run_dir), "--max-new-tokens", "10", "--seed", "0", "--prompt", "The"])
    assert code == 0 and out.startswith("The") and len(out) > 4, err
    check_exports(run_dir, tmp_path / "export", cli)


def check_exports(run_dir, out, cli):
    """`nanozoo export` to llama2.c (model.bin + tokenizer.bin) and to HF: both load back to equal logits."""
    import torch

    from nanozoo.experiments.registry import load_model
    from nanozoo.models import llama2c
    from nanozoo.models.llama import Llama
    from nanozoo.tokenizers import sentencepiece

    model, _ = load_model(run_dir)
    x = torch.randint(0, model.config.vocab_size, (2, 9))
    code, out_text, err = cli(["export", str(run_dir), str(out / "c"), "--format", "llama2c"])
    assert code == 0 and "tokenizer.bin" in out_text, err
    assert torch.allclose(llama2c.load(out / "c" / "model.bin").logits(x), model.logits(x), atol=1e-5)
    tok = sentencepiece.load(run_dir / "sentencepiece.model")
    assert (out / "c" / "tokenizer.bin").read_bytes() == sentencepiece.to_llama2c(tok)
    code, _, err = cli(["export", str(run_dir), str(out / "hf")])
    assert code == 0, err
    assert torch.allclose(Llama.from_pretrained(out / "hf").logits(x), model.logits(x), atol=1e-5)
    code, _, err = cli(["export", str(run_dir), str(out / "x"), "--format", "onnx"])
    assert code == 1 and "expected one of hf, llama2c" in err


def test_the_15m_recipe_reads_llama2s_tokenizer(archive, tmp_path, need_data):
    need_data("llama2_tokenizer", "tokenizer.model")
    cfg = registry.get("tinystories-llama-15m").default_config()
    assert (cfg.model.n_embd, cfg.model.n_layer, cfg.model.n_head, cfg.model.block_size) == (288, 6, 6, 256)
    assert cfg.model.tie_embeddings and cfg.train.grad_accum == 4
    fast = TINY + ["train.lr=1e-2", "train.max_iters=8", "train.eval_interval=4"]
    run_dir, m = runner.train("tinystories-llama-15m", fast, data_dir=archive, runs_root=tmp_path / "r")
    first = read_metrics(run_dir)[0]["val_loss"]  # step 0: about ln(32000) = 10.37
    assert m["val_loss"] < first - 0.05, (first, m["val_loss"])  # it learns the stories' few words
    assert (run_dir / "samples.txt").is_file()


def test_our_encoder_and_the_library_write_the_same_shards(archive, tmp_path, need, need_data):
    need("sentencepiece")
    from nanozoo.experiments.tinystories import StoryEncoder
    from nanozoo.tokenizers import sentencepiece

    tok = sentencepiece.load(need_data("llama2_tokenizer", "tokenizer.model"))
    path = archive / "tinystories" / tinystories.ARCHIVE
    ours = tinystories.pretokenize(path, StoryEncoder(tok, library=False), tmp_path / "ours")
    lib = tinystories.pretokenize(path, StoryEncoder(tok, library=True), tmp_path / "lib", workers=2)
    assert [f.read_bytes() for f in ours] == [f.read_bytes() for f in lib]


def test_a_gpt_run_exports_to_hf_and_refuses_llama2c(tmp_path, cli, tiny_gpt_overrides):
    run_dir, _ = runner.train("shakespeare-char", tiny_gpt_overrides, runs_root=tmp_path)
    code, out, err = cli(["export", str(run_dir), str(tmp_path / "hf")])
    assert code == 0 and (tmp_path / "hf" / "config.json").is_file(), err
    code, _, err = cli(["export", str(run_dir), str(tmp_path / "c"), "--format", "llama2c"])
    assert code == 1 and "only a Llama exports to llama2.c" in err and not (tmp_path / "c").exists()


def test_the_recipes_have_llama2cs_parameter_counts():
    from nanozoo.models.llama import Llama

    counts = {}
    for name, vocab in (("tinystories-llama-260k", 512), ("tinystories-llama-15m", 32000)):
        cfg = registry.get(name).default_config().model
        cfg.vocab_size = vocab
        counts[name] = Llama(cfg).num_params()
    assert counts == {"tinystories-llama-260k": 260_032, "tinystories-llama-15m": 15_191_712}


def test_streamed_pieces_keep_the_space_after_the_prompt(need_data):
    import torch

    from nanozoo.experiments.lm import stream_pieces
    from nanozoo.tokenizers import sentencepiece

    tok = sentencepiece.load(need_data("llama2_tokenizer", "tokenizer.model"))
    prompt, new = tok.encode("Once upon a", bos=True), tok.encode("Once upon a time there was")[3:]
    text = "".join(stream_pieces(tok, (torch.tensor([i]) for i in new), prompt))
    assert "Once upon a" + text == "Once upon a time there was"
