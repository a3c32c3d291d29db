"""The readable attention, the padding mask, the KV cache and batched generation of models/gpt.py."""

import pytest
import torch
import torch.nn.functional as F

from nanozoo.core.speed import matmul_precision
from nanozoo.models.gpt import GPT, POS_ENCODINGS, GPTConfig, manual_attention, sdpa_attention


@pytest.fixture
def tiny(randomise):
    """A 2-layer GPT of 23 tokens, context 16, with every parameter random."""
    cfg = dict(vocab_size=23, block_size=16, n_layer=2, n_head=2, n_embd=16)
    return lambda **kw: randomise(GPT(GPTConfig(**{**cfg, **kw})), scale=0.3).eval()


def left_pad(rows, pad=0):
    """(B, T) ids of the rows right-aligned, and the (B, T) mask that is False at the padding."""
    T = max(len(r) for r in rows)
    idx = torch.tensor([[pad] * (T - len(r)) + r for r in rows])
    mask = torch.tensor([[False] * (T - len(r)) + [True] * len(r) for r in rows])
    return idx, mask


def test_manual_attention_equals_sdpa():
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 7, 8) for _ in range(3))
    torch.testing.assert_close(
        manual_attention(q, k, v),
        F.scaled_dot_product_attention(q, k, v, is_causal=True),
        atol=1e-5,
        rtol=1e-5,
    )
    # any additive bias, -inf included: the last 2 queries against 7 keys, one key hidden from row 0
    bias = torch.randn(2, 1, 2, 7)
    bias[0, :, :, 3] = float("-inf")
    q2 = q[:, :, -2:]
    torch.testing.assert_close(
        manual_attention(q2, k, v, bias),
        F.scaled_dot_product_attention(q2, k, v, attn_mask=bias),
        atol=1e-5,
        rtol=1e-5,
    )


def test_attention_keeps_float32_math_inside_bf16_matmuls(monkeypatch):
    """Under train.matmul_precision="medium" SDPA still runs in float32 math, forward and backward (its
    fused CPU kernel is slow in bf16 math), and the step's other matmuls get bf16 math back after it."""
    mm, real, seen = torch.backends.mkldnn.matmul, F.scaled_dot_product_attention, []

    class Spy(torch.autograd.Function):  # SDPA, noting the matmul setting it runs under, both ways
        @staticmethod
        def forward(ctx, q, k, v, kw):
            seen.append(("attention", mm.fp32_precision))
            ctx.save_for_backward(q, k, v)
            ctx.kw = kw
            return real(q, k, v, **kw)

        @staticmethod
        def backward(ctx, grad):
            seen.append(("attention's backward", mm.fp32_precision))
            with torch.enable_grad():
                q, k, v = (t.detach().requires_grad_() for t in ctx.saved_tensors)
                return *torch.autograd.grad(real(q, k, v, **ctx.kw), (q, k, v), grad), None

    monkeypatch.setattr(F, "scaled_dot_product_attention", lambda q, k, v, **kw: Spy.apply(q, k, v, kw))
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 4, 64, 32, requires_grad=True) for _ in range(3))
    w = torch.randn(32, 32)
    # the matmul before attention: its backward runs after attention's, then the leaf's hook
    q.register_hook(lambda g: seen.append(("the matmul before, backward", mm.fp32_precision)))
    with matmul_precision("medium"):
        sdpa_attention(q @ w, k, v).sum().backward()
        assert mm.fp32_precision == "bf16"
    assert seen == [
        ("attention", "ieee"),
        ("attention's backward", "ieee"),
        ("the matmul before, backward", "bf16"),
    ]
    assert torch.get_float32_matmul_precision() == "highest"  # the process's own setting afterwards


@pytest.mark.parametrize("pos_encoding", POS_ENCODINGS)
def test_manual_model_equals_sdpa_model(tiny, same_model, pos_encoding):
    # the same weights through both paths: logits and every gradient agree, causal and with a padding mask
    sdpa = tiny(pos_encoding=pos_encoding)
    manual = tiny(pos_encoding=pos_encoding, attn_impl="manual")
    manual.load_state_dict(sdpa.state_dict())
    same_model(sdpa, manual, torch.randint(0, 23, (3, 16)))
    idx, mask = left_pad([[1, 2, 3, 4, 5, 6], [7, 8, 9], [4]])
    real = mask[..., None]
    torch.testing.assert_close(
        manual.logits(idx, mask) * real, sdpa.logits(idx, mask) * real, atol=1e-5, rtol=1e-5
    )


@pytest.mark.parametrize("pos_encoding", POS_ENCODINGS)
def test_a_padded_row_scores_as_it_would_alone(tiny, pos_encoding):
    model = tiny(pos_encoding=pos_encoding)
    rows = [[1, 2, 3, 4, 5, 6, 7], [8, 9, 10], [11]]
    idx, mask = left_pad(rows)
    batched = model.logits(idx, mask)
    for b, row in enumerate(rows):
        alone = model.logits(torch.tensor([row]))[0]
        torch.testing.assert_close(batched[b, -len(row) :], alone, atol=1e-5, rtol=1e-5)
    # without the mask the padding is read as text: the short row changes (the test can fail)
    assert not torch.allclose(model.logits(idx)[2, -1], batched[2, -1], atol=1e-3)


@pytest.mark.parametrize("pos_encoding", POS_ENCODINGS)
def test_the_kv_cache_gives_the_cacheless_tokens(tiny, pos_encoding):
    model = tiny(pos_encoding=pos_encoding)
    prompt = torch.randint(0, 23, (2, 5))
    # 30 new tokens: past block_size=16, where the cache starts again on the last 16 tokens
    cached = model.generate(prompt, 30, temperature=0)
    plain = model.generate(prompt, 30, temperature=0, use_cache=False)
    assert torch.equal(cached, plain) and cached.shape == (2, 35)
    # step by step, the cached logits are the full forward's at each position
    cache = model.new_cache(2)
    x = cached[:, :16]
    steps = [model(x[:, :5], cache=cache)[0]] + [model(x[:, t : t + 1], cache=cache)[0] for t in range(5, 16)]
    torch.testing.assert_close(torch.cat(steps, 1), model.logits(x)[:, 4:], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="KV cache holds 16 tokens|longer than block_size=16"):
        model(x[:, :1], cache=cache)


@pytest.mark.parametrize("pos_encoding", POS_ENCODINGS)
def test_batched_generation_with_left_padding(tiny, pos_encoding):
    model = tiny(pos_encoding=pos_encoding)
    rows = [[1, 2, 3, 4, 5, 6], [7, 8], [9, 10, 11, 12]]
    idx, mask = left_pad(rows)
    for use_cache in (True, False):
        out = model.generate(idx, 20, temperature=0, mask=mask, use_cache=use_cache)
        for b, row in enumerate(rows):
            alone = model.generate(torch.tensor([row]), 20, temperature=0, use_cache=use_cache)
            assert out[b, -20:].tolist() == alone[0, -20:].tolist(), (use_cache, b)
    with pytest.raises(ValueError, match="mask has shape"):
        model.generate(idx, 2, mask=mask[:, 1:])


@pytest.mark.parametrize("pos_encoding", ["learned", "alibi", "none"])
@pytest.mark.parametrize(  # GPT-2's own; the CPU recipe's (no biases, the exact GELU) with a soft-capped head
    "options",
    [{}, {"bias": False, "activation": "gelu", "logit_softcap": 3.0, "tie_embeddings": False}],
)
def test_the_flat_decode_step_gives_the_module_path(tiny, pos_encoding, options):
    # decode_step (one flat walk over the layers) against hidden (the modules), step by step after a
    # left-padded prompt: the same logits at every step, so the same greedy tokens
    model = tiny(pos_encoding=pos_encoding, **options)
    assert model.flat_decoding()
    idx, mask = left_pad([[1, 2, 3, 4, 5], [6, 7], [8, 9, 10]])
    flat, plain = model.new_cache(3), model.new_cache(3)
    logits = model(idx, mask=mask, cache=flat)[0]  # the prompt goes through the modules, into both caches
    model(idx, mask=mask, cache=plain)
    for _ in range(8):
        nxt = logits[:, -1].argmax(-1, keepdim=True)  # (3, 1)
        logits = model.decode_step(nxt, flat)
        torch.testing.assert_close(logits, model.head(model.hidden(nxt, None, plain)), atol=1e-6, rtol=1e-5)
    assert flat.n == plain.n == 13
    assert not tiny(pos_encoding="rope").flat_decoding() and not tiny().train().flat_decoding()


def test_stream_yields_token_by_token(tiny):
    model = tiny()
    prompt = torch.tensor([[3, 1, 4]])
    stream = model.stream(prompt, 6, temperature=0)
    first = next(stream)  # an iterator: one (B,) token at a time
    assert first.shape == (1,)
    rest = list(stream)
    assert len(rest) == 5
    assert torch.equal(torch.stack([first, *rest], 1), model.generate(prompt, 6, temperature=0)[:, 3:])


def test_positions_beyond_the_training_context(tiny):
    # encodings that are functions of position read longer sequences; learned ones have a table to end
    idx = torch.randint(0, 23, (1, 40))
    for pe in ("sinusoidal", "rope", "alibi", "none"):
        assert tiny(pos_encoding=pe).logits(idx).shape == (1, 40, 23)
    with pytest.raises(ValueError, match="longer than block_size=16"):
        tiny().logits(idx)


def test_pos_encoding_and_attn_impl_are_checked(tiny):
    with pytest.raises(ValueError, match="pos_encoding='xpos'"):
        GPTConfig(pos_encoding="xpos")
    with pytest.raises(ValueError, match="needs an even width, not 3"):
        GPTConfig(n_embd=6, n_head=2, pos_encoding="rope")
    with pytest.raises(ValueError, match="ALiBi needs 'sdpa' or 'manual'"):
        GPTConfig(attn_impl="flash_ref", pos_encoding="alibi")
    assert "wpe" not in tiny(pos_encoding="rope").transformer  # no learned table when positions are computed
    with pytest.raises(ValueError, match="has no place in its format"):
        tiny(pos_encoding="rope").save_pretrained("unused")


def test_alibi_model_adds_the_distance_penalty_under_the_causal_mask(tiny):
    # what attention adds to the scores of an ALiBi GPT: -slope_h * (i - j) where j <= i, -inf after i
    model = tiny(pos_encoding="alibi")
    _, bias = model.attention_inputs(torch.zeros(1, 5, dtype=torch.long))
    slopes = model.alibi_slopes  # 2 heads: 1/16, 1/256
    for h, i, j in [(0, 4, 0), (1, 4, 1), (0, 2, 2), (1, 3, 0)]:
        assert bias[h, i, j].item() == pytest.approx(-slopes[h].item() * (i - j)), (h, i, j)
    assert torch.isinf(bias[:, 0, 1:]).all() and torch.isinf(bias[:, 3, 4]).all()


def test_sinusoidal_gpt_adds_the_table_at_the_embeddings_scale(tiny):
    # Vaswani et al.: sqrt(C) * embedding + table; ours keeps GPT-2's embedding and divides the table
    from nanozoo.models.positions import sinusoidal

    model = tiny(pos_encoding="sinusoidal")
    seen = []
    model.transformer.h[0].register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    idx = torch.tensor([[3, 1, 4, 1, 5]])
    model.logits(idx)
    expected = model.transformer.wte(idx) + sinusoidal(5, 16) / 4.0  # sqrt(16)
    torch.testing.assert_close(seen[0], expected)


def test_decoding_gives_back_the_weights_it_transposed(tiny):
    # a batch of rows decodes on column-major copies of the Linear weights; the originals come back on
    # exit, training mode too, and they still train (no inference tensors left behind)
    model = tiny().train()
    before = {n: (p.data_ptr(), p.is_contiguous()) for n, p in model.named_parameters()}
    stream = model.stream(torch.randint(0, 23, (2, 3)), 5, temperature=0)
    next(stream)
    assert not model.lm_head.weight.is_contiguous() and not model.training  # inside: transposed, eval
    stream.close()
    assert {n: (p.data_ptr(), p.is_contiguous()) for n, p in model.named_parameters()} == before
    assert model.training and not any(p.is_inference() for p in model.parameters())
    model(torch.randint(0, 23, (2, 5)), torch.randint(0, 23, (2, 5)))[1].backward()
