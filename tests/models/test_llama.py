"""Llama: each piece's defining property, and parity with HF transformers' LlamaForCausalLM both ways."""

import math

import pytest
import torch

from nanozoo.models.llama import Llama, LlamaConfig, RMSNorm, permute_qk, rope_interleaved, unpermute_qk
from nanozoo.models.positions import rope

TINY = dict(vocab_size=97, block_size=64, n_layer=2, n_head=4, n_kv_head=2, n_embd=32, hidden_dim=56)


@pytest.fixture(scope="module")
def hf_pair(need, tmp_path_factory):
    """A tiny random HF LlamaForCausalLM (GQA, every parameter randomised, norms included) and ours loaded
    from its save_pretrained folder."""
    transformers = need("transformers")
    torch.manual_seed(0)
    hf_cfg = transformers.LlamaConfig(
        vocab_size=97, hidden_size=32, intermediate_size=56, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, tie_word_embeddings=False,
    )  # fmt: skip
    hf = transformers.LlamaForCausalLM(hf_cfg).eval()
    with torch.no_grad():
        for p in hf.parameters():
            p.copy_(torch.randn_like(p) * 0.3 + (1.0 if p.dim() == 1 else 0.0))
    folder = tmp_path_factory.mktemp("hf-llama")
    hf.save_pretrained(folder)
    return hf, Llama.from_pretrained(folder).eval(), folder


def hf_logits(hf, idx, mask=None):
    if mask is None:
        return hf(idx).logits
    pos = (mask.long().cumsum(1) - 1).clamp(min=0)  # what HF's generate passes for left padding
    return hf(idx, attention_mask=mask.long(), position_ids=pos).logits


def test_logits_equal_hf_with_gqa_and_a_padding_mask(hf_pair):
    hf, ours, _ = hf_pair
    idx = torch.randint(0, 97, (3, 20))
    with torch.no_grad():
        torch.testing.assert_close(ours.logits(idx), hf_logits(hf, idx), atol=1e-5, rtol=1e-5)
        mask = torch.ones(3, 20, dtype=torch.bool)
        mask[1, :7] = False  # row 1 is left-padded
        real = mask[1]
        torch.testing.assert_close(
            ours.logits(idx, mask)[1, real], hf_logits(hf, idx, mask)[1, real], atol=1e-5, rtol=1e-5
        )


def test_greedy_generation_equals_hf_for_50_tokens(hf_pair):
    hf, ours, _ = hf_pair
    prompt = torch.randint(0, 97, (2, 5))
    with torch.no_grad():
        theirs = hf.generate(prompt, max_new_tokens=50, do_sample=False, pad_token_id=0, eos_token_id=None)
    assert torch.equal(ours.generate(prompt, 50, temperature=0), theirs)


def test_our_save_pretrained_loads_in_hf_with_equal_logits(need, tmp_path):
    transformers = need("transformers")
    torch.manual_seed(1)
    ours = Llama(LlamaConfig(**TINY, tie_embeddings=True)).eval()
    with torch.no_grad():
        for p in ours.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    ours.save_pretrained(tmp_path)
    hf = transformers.LlamaForCausalLM.from_pretrained(tmp_path).eval()
    idx = torch.randint(0, 97, (2, 16))
    with torch.no_grad():
        torch.testing.assert_close(hf(idx).logits, ours.logits(idx), atol=1e-5, rtol=1e-5)


def test_linear_rope_scaling_equals_hf(need, tmp_path):
    transformers = need("transformers")
    torch.manual_seed(2)
    ours = Llama(LlamaConfig(**TINY, rope_scaling="linear", rope_factor=4.0)).eval()
    ours.save_pretrained(tmp_path)
    hf = transformers.LlamaForCausalLM.from_pretrained(tmp_path).eval()
    assert hf.config.rope_parameters["rope_type"] == "linear"
    idx = torch.randint(0, 97, (1, 40))
    with torch.no_grad():
        torch.testing.assert_close(hf(idx).logits, ours.logits(idx), atol=1e-5, rtol=1e-5)


def test_the_two_rope_conventions_agree_after_the_weight_permutation():
    torch.manual_seed(3)
    H, D, C, T = 2, 8, 16, 11
    w_meta = torch.randn(H * D, C)  # a q projection in Meta's interleaved channel order
    x, pos = torch.randn(1, T, C), torch.arange(T)
    heads = lambda q: q.view(1, T, H, D).transpose(1, 2)  # noqa: E731
    q_meta = rope_interleaved(heads(x @ w_meta.T), pos)
    q_hf = rope(heads(x @ permute_qk(w_meta, H).T), pos)
    flat = lambda q: q.transpose(1, 2).reshape(1, T, H * D)  # noqa: E731
    order = (
        permute_qk(torch.arange(H * D)[:, None].float(), H).squeeze(1).long()
    )  # HF channel c = Meta's order[c]
    torch.testing.assert_close(flat(q_hf), flat(q_meta)[..., order])
    torch.testing.assert_close(q_hf @ q_hf.transpose(-1, -2), q_meta @ q_meta.transpose(-1, -2))
    assert torch.equal(unpermute_qk(permute_qk(w_meta, H), H), w_meta)


def test_rope_scores_depend_only_on_the_distance():
    q, k = torch.randn(1, 1, 1, 16), torch.randn(1, 1, 1, 16)
    score = lambda m, n: (
        rope_interleaved(q, torch.tensor([m])) * rope_interleaved(k, torch.tensor([n]))
    ).sum()  # noqa: E731
    assert torch.allclose(score(5, 2), score(13, 10), atol=1e-5)
    assert not torch.allclose(score(5, 2), score(5, 4), atol=1e-3)


def test_ntk_scaling_stretches_the_lowest_frequency_and_keeps_the_highest():
    from nanozoo.models.llama import scaled_positions

    cfg = LlamaConfig(**TINY, rope_scaling="ntk", rope_factor=8.0)
    pos, base = scaled_positions(torch.arange(4), cfg)
    D = cfg.head_dim
    lowest = lambda b: b ** (-(D - 2) / D)  # noqa: E731  the last pair's frequency
    assert math.isclose(lowest(cfg.rope_theta) / lowest(base), 8.0, rel_tol=1e-9)
    assert torch.equal(
        pos, torch.arange(4)
    )  # NTK keeps the positions (the first pair, frequency 1, unchanged)
    linear = LlamaConfig(**TINY, rope_scaling="linear", rope_factor=8.0)
    pos, base = scaled_positions(torch.arange(4), linear)
    assert torch.equal(pos, torch.arange(4) / 8.0) and base == linear.rope_theta


def test_rmsnorm_gives_unit_rms_and_ignores_scale():
    norm = RMSNorm(64, eps=1e-8)
    x = torch.randn(5, 64) * 7 + 3
    y = norm(x)
    torch.testing.assert_close(y.pow(2).mean(-1), torch.ones(5))
    torch.testing.assert_close(norm(10 * x), y)
    assert not torch.allclose(y.mean(-1), torch.zeros(5), atol=1e-2)  # no mean subtraction, unlike LayerNorm


def test_swiglu_hidden_size_rule():
    assert LlamaConfig(n_embd=4096, n_head=32, multiple_of=256).ffn_dim == 11008  # Llama 2 7B
    assert LlamaConfig(n_embd=288, n_head=6, multiple_of=32).ffn_dim == 768  # llama2.c 15M
    assert LlamaConfig(n_embd=64, n_head=8, multiple_of=4).ffn_dim == 172  # llama2.c 260K


def test_gqa_equals_mha_with_repeated_key_value_heads():
    torch.manual_seed(4)
    gqa = Llama(LlamaConfig(**TINY)).eval()
    mha = Llama(LlamaConfig(**(TINY | {"n_kv_head": 4}))).eval()
    sd = gqa.state_dict()
    for k in list(sd):
        if k.endswith(("k_proj.weight", "v_proj.weight")):  # (2 * D, C) -> each kv head serves 2 query heads
            sd[k] = sd[k].view(2, 8, 32).repeat_interleave(2, dim=0).reshape(32, 32)
    mha.load_state_dict(sd)
    idx = torch.randint(0, 97, (2, 12))
    torch.testing.assert_close(gqa.logits(idx), mha.logits(idx), atol=1e-5, rtol=1e-5)
    assert gqa.new_cache(2, 10).k.shape == (2, 2, 2, 10, 8)  # layers, batch, kv heads, length, head size
    mqa = Llama(LlamaConfig(**(TINY | {"n_kv_head": 1})))
    assert mqa.logits(idx).shape == (2, 12, 97)
    with pytest.raises(ValueError, match="not a multiple of n_kv_head"):
        LlamaConfig(**(TINY | {"n_kv_head": 3}))


def test_kv_cache_gives_the_cacheless_tokens_and_the_manual_path_equals_sdpa():
    torch.manual_seed(5)
    model = Llama(LlamaConfig(**TINY)).eval()
    prompt = torch.randint(0, 97, (2, 7))
    cached = model.generate(prompt, 40, temperature=0)
    assert torch.equal(cached, model.generate(prompt, 40, temperature=0, use_cache=False))
    manual = Llama(LlamaConfig(**TINY, attn_impl="manual")).eval()
    manual.load_state_dict(model.state_dict())
    mask = torch.ones(2, 7, dtype=torch.bool)
    mask[0, :3] = False
    torch.testing.assert_close(manual.logits(prompt, mask), model.logits(prompt, mask), atol=1e-5, rtol=1e-5)


def test_repetition_penalty_equals_hf_and_stop_sequences_end_generation(need):
    transformers = need("transformers")
    torch.manual_seed(6)
    model = Llama(LlamaConfig(**TINY)).eval()
    prompt = torch.randint(0, 97, (1, 6))
    ours = model.generate(prompt, 12, temperature=0, repetition_penalty=1.8)
    theirs, ctx = prompt, prompt
    proc = transformers.RepetitionPenaltyLogitsProcessor(1.8)
    for _ in range(12):  # the same loop, HF's penalty on our logits
        nxt = proc(ctx, model.logits(ctx)[:, -1]).argmax(-1, keepdim=True)
        ctx = torch.cat([ctx, nxt], dim=1)
    theirs = ctx
    assert torch.equal(ours, theirs)
    assert not torch.equal(ours, model.generate(prompt, 12, temperature=0))
    free = model.generate(prompt, 12, temperature=0)[0, 6:].tolist()
    stopped = model.generate(prompt, 12, temperature=0, stop=[free[2:4]])
    assert stopped[0, 6:].tolist() == free[:4]


def test_a_row_that_stops_early_repeats_its_stop_and_padding_is_not_penalised():
    torch.manual_seed(7)
    model = Llama(LlamaConfig(**TINY)).eval()
    prompts = torch.randint(3, 97, (2, 6))
    free = model.generate(prompts, 10, temperature=0)[:, 6:]
    stop = free[0, 1:3].tolist()  # row 0 stops after 3 tokens, row 1 runs on (unless it meets it too)
    out = model.generate(prompts, 10, temperature=0, stop=[stop])[:, 6:]
    assert out[0, :3].tolist() == free[0, :3].tolist() and set(out[0, 3:].tolist()) <= {stop[-1]}
    # a left-padded row with a repetition penalty generates what it generates alone
    padded = torch.cat([torch.zeros(1, 3, dtype=torch.long), prompts[:1]], dim=1)
    mask = torch.cat([torch.zeros(1, 3, dtype=torch.bool), torch.ones(1, 6, dtype=torch.bool)], dim=1)
    alone = model.generate(prompts[:1], 8, temperature=0, repetition_penalty=1.5)[:, 6:]
    with_pad = model.generate(padded, 8, temperature=0, repetition_penalty=1.5, mask=mask)[:, 9:]
    assert torch.equal(alone, with_pad)
    with pytest.raises(ValueError, match="mask has shape"):
        model.generate(prompts, 2, mask=mask)


def test_sample_hf_dir_runs_a_llama_as_transformers_does(need, need_data, tmp_path, capsys):
    """`nanozoo sample --hf-dir` on an HF Llama folder with Llama 2's tokenizer: greedy text == HF's."""
    transformers = need("transformers")
    from nanozoo.cli import main
    from nanozoo.tokenizers import sentencepiece

    tok = sentencepiece.load(need_data("llama2_tokenizer", "tokenizer.model"))
    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(
        vocab_size=32000, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=64,
    )  # fmt: skip
    hf = transformers.LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        for p in hf.parameters():
            p.copy_(torch.randn_like(p) * 0.5 + (1.0 if p.dim() == 1 else 0.0))
    hf.save_pretrained(tmp_path)  # no tokenizer.model in the folder: the catalogue's Llama 2 one is used
    ids = torch.tensor([tok.encode("Once upon a time", bos=True)])
    theirs = hf.generate(ids, max_new_tokens=12, min_new_tokens=12, do_sample=False, pad_token_id=0)
    expected = "Once upon a time" + tok.decode(theirs[0].tolist())[len(tok.decode(ids[0].tolist())) :]
    main(["sample", "--hf-dir", str(tmp_path), "--prompt", "Once upon a time", "--max-new-tokens", "12",
          "--temperature", "0"])  # fmt: skip
    assert capsys.readouterr().out == expected + "\n"
