import json

import pytest
import torch

from nanozoo.core.checkpoint import CheckpointError
from nanozoo.core.errors import UserError
from nanozoo.models.gpt import GPT, GPTConfig
from nanozoo.tokenizers.char import CharTokenizer


@pytest.fixture(scope="module")
def transformers(need):
    return need("transformers")


@pytest.fixture
def hf_tiny(transformers, randomise):
    """A tiny HF GPT-2 with every parameter random."""

    def make(activation="gelu_new", **kw):
        torch.manual_seed(0)
        cfg = transformers.GPT2Config(
            vocab_size=50,
            n_positions=16,
            n_embd=32,
            n_layer=2,
            n_head=4,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            activation_function=activation,
            bos_token_id=49,
            eos_token_id=49,
            **kw,
        )
        return randomise(transformers.GPT2LMHeadModel(cfg), seed=0).eval()

    return make


@pytest.mark.parametrize("activation", ["gelu_new", "gelu", "gelu_pytorch_tanh"])
def test_loads_hf_gpt2_logits_match(hf_tiny, tmp_path, activation):
    hf = hf_tiny(activation)
    hf.save_pretrained(tmp_path)
    ours = GPT.from_pretrained(tmp_path).eval()
    x = torch.randint(0, 50, (3, 16))
    torch.testing.assert_close(ours.logits(x), hf(x).logits, atol=1e-5, rtol=1e-5)
    logits, loss = ours(x[:, :-1], x[:, 1:])
    # HF shifts labels inside; we take targets already shifted: the same mean cross-entropy
    torch.testing.assert_close(loss, hf(x, labels=x).loss, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(logits, hf(x[:, :-1]).logits, atol=1e-5, rtol=1e-5)


def test_hf_loads_ours_logits_match(transformers, randomise, tmp_path):
    torch.manual_seed(1)
    ours = GPT(GPTConfig(vocab_size=40, block_size=12, n_layer=2, n_head=2, n_embd=24))
    ours = randomise(ours, seed=1).eval()
    ours.save_pretrained(tmp_path)
    hf = transformers.GPT2LMHeadModel.from_pretrained(tmp_path).eval()
    x = torch.randint(0, 40, (2, 12))
    torch.testing.assert_close(hf(x).logits, ours.logits(x), atol=1e-5, rtol=1e-5)
    # and the loss: HF shifts labels inside, we take targets already shifted
    _, ours_loss = ours(x[:, :-1], x[:, 1:])
    torch.testing.assert_close(hf(x, labels=x).loss, ours_loss, atol=1e-5, rtol=1e-5)


def test_parity_sees_every_tensor(hf_tiny, tmp_path):
    # the loaded model holds exactly HF's tensors, each one distinct: nothing left at its initial value
    hf = hf_tiny()
    hf.save_pretrained(tmp_path)
    ours = GPT.from_pretrained(tmp_path)
    theirs = {k: v for k, v in hf.state_dict().items() if k != "lm_head.weight"}
    for k, v in ours.state_dict().items():
        if k != "lm_head.weight":
            w = theirs.pop(k)
            torch.testing.assert_close(v, w.t() if k.endswith(GPT._TRANSPOSED) else w, atol=0, rtol=0)
    assert not theirs  # every HF tensor has a home in ours
    assert ours.lm_head.weight is ours.transformer.wte.weight


REFUSED = [
    (dict(activation="relu"), "activation_function='relu' is not supported"),
    (dict(scale_attn_by_inverse_layer_idx=True), "scale_attn_by_inverse_layer_idx=True"),
    (dict(reorder_and_upcast_attn=True), "reorder_and_upcast_attn=True"),
    (dict(scale_attn_weights=False), "scale_attn_weights=False"),
    (dict(tie_word_embeddings=False), "tie_word_embeddings=False"),
]


@pytest.mark.parametrize("options, message", REFUSED, ids=[next(iter(o)) for o, _ in REFUSED])
def test_from_pretrained_refuses_what_it_cannot_reproduce(hf_tiny, tmp_path, options, message):
    hf = hf_tiny(**options)
    hf.save_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match=message) as e:
        GPT.from_pretrained(tmp_path)
    assert isinstance(e.value, UserError)


def test_from_pretrained_refuses_an_untied_head(hf_tiny, tmp_path):
    # a config that says "tied" over a file whose lm_head is another tensor
    hf = hf_tiny(tie_word_embeddings=False)
    hf.save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "tie_word_embeddings": True}))
    with pytest.raises(CheckpointError, match="lm_head.weight differs from wte.weight"):
        GPT.from_pretrained(tmp_path)


def test_from_pretrained_refuses_other_models(tmp_path):
    with pytest.raises(CheckpointError, match="not an HF GPT-2 folder"):
        GPT.from_pretrained(tmp_path)
    ours = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=1, n_embd=8))
    ours.save_pretrained(tmp_path)
    (tmp_path / "config.json").write_text((tmp_path / "config.json").read_text().replace('"gpt2"', '"llama"'))
    with pytest.raises(CheckpointError, match="'llama' model, not gpt2"):
        GPT.from_pretrained(tmp_path)


def test_parameter_count_matches_nanogpt():
    # nanoGPT prints "number of parameters: 10.65M" for shakespeare_char (65 chars, 6x6x384, ctx 256,
    # bias=False, position embeddings not counted); with GPT-2's biases and wpe it is 10.77M in all
    cfg = dict(vocab_size=65, block_size=256, n_layer=6, n_head=6, n_embd=384)
    assert round(GPT(GPTConfig(**cfg, bias=False)).num_params() / 1e6, 2) == 10.65
    assert round(GPT(GPTConfig(**cfg)).num_params(non_embedding=False) / 1e6, 2) == 10.77


def test_generate_is_deterministic_under_a_seed():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=20, block_size=8, n_layer=1, n_head=2, n_embd=16))
    idx = torch.zeros(2, 1, dtype=torch.long)
    runs = [model.generate(idx, 30, top_k=5, generator=torch.Generator().manual_seed(7)) for _ in range(2)]
    assert torch.equal(runs[0], runs[1]) and runs[0].shape == (
        2,
        31,
    )  # past block_size: the context is cropped
    other = model.generate(idx, 30, top_k=5, generator=torch.Generator().manual_seed(8))
    assert not torch.equal(runs[0], other)
    with pytest.raises(ValueError, match="prompt is empty"):
        model.generate(torch.zeros(1, 0, dtype=torch.long), 3)


def test_char_tokenizer_round_trip_and_errors(tmp_path):
    tok = CharTokenizer.from_text("hello world")
    assert tok.decode(tok.encode("hello")) == "hello" and len(tok) == 8
    tok.save(tmp_path / "t.json")
    assert CharTokenizer.load(tmp_path / "t.json").chars == tok.chars
    with pytest.raises(ValueError, match="character 'z' at position 2 is not in the vocabulary"):
        tok.encode("hez")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="not a nanozoo character tokenizer"):
        CharTokenizer.load(tmp_path / "bad.json")


def test_config_validation():
    with pytest.raises(ValueError, match="n_embd=10 is not divisible by model.n_head=4"):
        GPTConfig(n_embd=10, n_head=4)
    model = GPT(GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=1, n_embd=8))
    with pytest.raises(ValueError, match="longer than block_size=4"):
        model(torch.zeros(1, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="attn_impl='flash_ref' has no attention dropout"):
        GPTConfig(attn_impl="flash_ref", dropout=0.1)
    with pytest.raises(ValueError, match="attn_impl='flash'"):
        GPTConfig(attn_impl="flash")


def test_flash_attention_reference_gives_the_same_model(same_model):
    # the same weights through SDPA and through the tiled FlashAttention-2: logits and gradients agree
    cfg = dict(vocab_size=11, block_size=80, n_layer=2, n_head=2, n_embd=32)
    torch.manual_seed(0)
    sdpa = GPT(GPTConfig(**cfg))
    flash = GPT(GPTConfig(**cfg, attn_impl="flash_ref"))
    flash.load_state_dict(sdpa.state_dict())
    same_model(sdpa, flash, torch.randint(0, 11, (2, 70)))  # 70: a ragged last tile
