"""The encoder-decoder transformer against torch.nn: attention, encoder and decoder layers with copied
weights; the label-smoothed loss; the paper's LR schedule; greedy and beam search."""

import math

import pytest
import torch
import torch.nn.functional as F
from random_weights import randomise  # every parameter random: a wrong key or value shows
from torch import nn

from nanozoo.core.config import TrainConfig
from nanozoo.core.trainer import lr_at
from nanozoo.models.seq2seq import (
    BOS,
    EOS,
    PAD,
    DecoderCache,
    DecoderLayer,
    EncoderLayer,
    MultiHeadAttention,
    Seq2Seq,
    Seq2SeqConfig,
    causal_mask,
    padding_mask,
    sinusoidal,
    smoothed_cross_entropy,
    strip,
)

TOL = dict(atol=1e-5, rtol=1e-5)
CFG = dict(vocab_size=23, block_size=16, n_layer=2, n_head=4, n_embd=32, dropout=0.0)


def copy_attention(ours: MultiHeadAttention, theirs: nn.MultiheadAttention) -> None:
    with torch.no_grad():
        theirs.in_proj_weight.copy_(torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight]))
        theirs.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias]))
        theirs.out_proj.load_state_dict(ours.out_proj.state_dict())


def copy_layer(ours, theirs) -> None:
    """Our encoder/decoder layer's weights into torch's: q/k/v concatenated, sublayer norms renamed."""
    copy_attention(ours.self_attn, theirs.self_attn)
    if isinstance(ours, DecoderLayer):
        copy_attention(ours.cross_attn, theirs.multihead_attn)
        theirs.norm3.load_state_dict(ours.sub3.norm.state_dict())
    theirs.linear1.load_state_dict(ours.ff.linear1.state_dict())
    theirs.linear2.load_state_dict(ours.ff.linear2.state_dict())
    theirs.norm1.load_state_dict(ours.sub1.norm.state_dict())
    theirs.norm2.load_state_dict(ours.sub2.norm.state_dict())


def ids_with_padding(B: int, T: int, lengths: list[int], gen: torch.Generator) -> torch.Tensor:
    ids = torch.randint(3, CFG["vocab_size"], (B, T), generator=gen)
    for b, n in enumerate(lengths):
        ids[b, n:] = PAD
    return ids


@pytest.mark.parametrize("keep_weights", [False, True])
def test_attention_with_masks_equals_torch_multihead_attention(keep_weights):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    cfg = Seq2SeqConfig(**CFG)
    ours = MultiHeadAttention(cfg).eval()
    theirs = nn.MultiheadAttention(cfg.n_embd, cfg.n_head, batch_first=True).eval()
    copy_attention(ours, theirs)
    x, mem = torch.randn(3, 5, cfg.n_embd), torch.randn(3, 7, cfg.n_embd)
    src = ids_with_padding(3, 7, [7, 4, 2], gen)
    # cross-attention with key padding: torch's mask is True where a key is *ignored*
    out = ours(x, mem, padding_mask(src), keep_weights=keep_weights)
    ref, ref_w = theirs(x, mem, mem, key_padding_mask=src == PAD, average_attn_weights=False)
    torch.testing.assert_close(out, ref, **TOL)
    if keep_weights:
        torch.testing.assert_close(ours.weights, ref_w, **TOL)
        assert (ours.weights[1, :, :, 4:] == 0).all()  # padded keys get no attention
    # causal self-attention
    out = ours(x, x, causal_mask(5), keep_weights=keep_weights)
    ref, _ = theirs(x, x, x, attn_mask=~causal_mask(5))
    torch.testing.assert_close(out, ref, **TOL)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_and_decoder_layers_equal_torch_transformer_layers(norm_first):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(2)
    cfg = Seq2SeqConfig(**CFG, norm_first=norm_first)
    C, H, F_ = cfg.n_embd, cfg.n_head, cfg.ff_mult * cfg.n_embd
    kw = dict(dim_feedforward=F_, dropout=0.0, batch_first=True, norm_first=norm_first)
    enc, dec = EncoderLayer(cfg).eval(), DecoderLayer(cfg).eval()
    t_enc = nn.TransformerEncoderLayer(C, H, **kw).eval()
    t_dec = nn.TransformerDecoderLayer(C, H, **kw).eval()
    for layer in (enc, dec):  # torch's layers start from other weights: make ours unlike the defaults
        for p in layer.parameters():
            nn.init.normal_(p, std=0.3)
    copy_layer(enc, t_enc)
    copy_layer(dec, t_dec)
    src = ids_with_padding(3, 7, [7, 5, 3], gen)
    tgt = ids_with_padding(3, 6, [6, 2, 4], gen)
    x, y = torch.randn(3, 7, C), torch.randn(3, 6, C)
    memory = enc(x, padding_mask(src))
    ref_memory = t_enc(x, src_key_padding_mask=src == PAD)
    torch.testing.assert_close(memory, ref_memory, **TOL)
    out = dec(y, memory, causal_mask(6) & padding_mask(tgt), padding_mask(src))
    ref = t_dec(
        y,
        ref_memory,
        tgt_mask=~causal_mask(6),
        tgt_key_padding_mask=tgt == PAD,
        memory_key_padding_mask=src == PAD,
    )
    torch.testing.assert_close(out, ref, **TOL)


def test_sinusoidal_positions_are_the_paper_formula():
    pe = sinusoidal(50, 16)
    t, i = 37, 3
    assert pe[t, 2 * i].item() == pytest.approx(math.sin(t / 10000 ** (2 * i / 16)), abs=1e-6)
    assert pe[t, 2 * i + 1].item() == pytest.approx(math.cos(t / 10000 ** (2 * i / 16)), abs=1e-6)
    assert torch.equal(pe[0, 1::2], torch.ones(8))  # cos(0)


def test_label_smoothed_loss_equals_torch_cross_entropy():
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(4, 6, 11, generator=gen)
    targets = torch.randint(1, 11, (4, 6), generator=gen)
    targets[0, 3:] = PAD
    ours = smoothed_cross_entropy(logits, targets, 0.1)
    ref = F.cross_entropy(logits.view(-1, 11), targets.view(-1), label_smoothing=0.1, ignore_index=PAD)
    torch.testing.assert_close(ours, ref, **TOL)
    plain = F.cross_entropy(logits.view(-1, 11), targets.view(-1), ignore_index=PAD)
    torch.testing.assert_close(smoothed_cross_entropy(logits, targets, 0.0), plain, **TOL)


def test_noam_schedule_is_the_papers_formula():
    d, w = 512, 4000
    cfg = TrainConfig(lr=d**-0.5 * w**-0.5, min_lr=0.0, warmup_iters=w, schedule="noam")
    for s in (1, 100, 3999, 4000, 4001, 20000, 100000):
        paper = d**-0.5 * min(s**-0.5, s * w**-1.5)
        assert lr_at(s - 1, cfg) == pytest.approx(paper, rel=1e-12)  # the trainer's step 0 is the first
    assert max(lr_at(s, cfg) for s in range(0, 10000, 7)) == pytest.approx(cfg.lr, rel=1e-3)


def test_model_forward_loss_and_tied_embeddings():
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(**CFG)).eval()
    assert model.embed.weight.data_ptr() == next(model.parameters()).data_ptr()
    assert sum(1 for n, _ in model.named_parameters() if "embed" in n) == 1  # one matrix, three uses
    gen = torch.Generator().manual_seed(4)
    src = ids_with_padding(2, 7, [7, 3], gen)
    tgt = ids_with_padding(2, 5, [5, 2], gen)
    logits, loss = model(src, tgt, tgt)
    assert logits.shape == (2, 5, CFG["vocab_size"])
    # padding is invisible: the first row alone, or with garbage after its end, gives the same logits
    alone = model(src[1:, :3], tgt[1:, :2])[0]
    torch.testing.assert_close(logits[1, :2], alone[0], **TOL)
    # a random model is near uniform: the loss is about log V
    assert abs(loss.item() - math.log(CFG["vocab_size"])) < 1.0


def test_pre_ln_has_final_norms_and_post_ln_none():
    post, pre = Seq2Seq(Seq2SeqConfig(**CFG)), Seq2Seq(Seq2SeqConfig(**CFG, norm_first=True))
    assert isinstance(post.enc_norm, nn.Identity) and isinstance(pre.dec_norm, nn.LayerNorm)


def test_config_refuses_bad_values():
    with pytest.raises(ValueError, match="n_head"):
        Seq2SeqConfig(n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="label_smoothing"):
        Seq2SeqConfig(label_smoothing=1.0)
    model = Seq2Seq(Seq2SeqConfig(**CFG))
    with pytest.raises(ValueError, match="block_size"):
        model.encode(torch.ones(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match="beam_size"):
        model.beam_search(torch.ones(1, 3, dtype=torch.long), beam_size=0)


# ---------------------------------------------------------------------------------------------------
# Decoding


def trained_copy_model() -> Seq2Seq:
    """A model that learned to copy: with sharp distributions, greedy and beam search have one answer."""
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(**CFG, label_smoothing=0.0))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(5)
    for _ in range(250):
        src = torch.randint(3, CFG["vocab_size"], (32, 5), generator=gen)
        tgt_in = torch.cat([torch.full((32, 1), BOS), src], dim=1)
        tgt_out = torch.cat([src, torch.full((32, 1), EOS)], dim=1)
        loss = model(src, tgt_in, tgt_out)[1]
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def test_beam_of_one_is_greedy_and_batched_decoding_equals_one_by_one():
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(**CFG)).eval()  # untrained: long, varied outputs
    gen = torch.Generator().manual_seed(6)
    src = ids_with_padding(5, 7, [7, 6, 4, 3, 1], gen)
    greedy = model.greedy(src, max_len=12)
    assert torch.equal(model.beam_search(src, beam_size=1, max_len=12), greedy)
    beams = model.beam_search(src, beam_size=3, max_len=12)
    for b in range(5):  # a row decoded alone (its padding cut off) gives the same tokens
        n = int((src[b] != PAD).sum())
        assert strip(model.greedy(src[b : b + 1, :n], max_len=12)[0].tolist()) == strip(greedy[b].tolist())
        one = model.beam_search(src[b : b + 1, :n], beam_size=3, max_len=12)[0].tolist()
        assert strip(one) == strip(beams[b].tolist())


@pytest.mark.parametrize("norm_first", [False, True])
def test_kv_cache_step_logits_equal_the_whole_prefix_decode(norm_first):
    model = randomise(Seq2Seq(Seq2SeqConfig(**CFG, norm_first=norm_first)), seed=3).eval()
    gen = torch.Generator().manual_seed(8)
    src = ids_with_padding(6, 7, [7, 5, 7, 2, 4, 1], gen)
    tgt = torch.cat([torch.full((6, 1), BOS), torch.randint(3, CFG["vocab_size"], (6, 10), generator=gen)], 1)
    with torch.no_grad():
        memory = model.encode(src)
        full = model.decode(tgt, memory, src)  # (B, T, V)
        cache = DecoderCache(CFG["n_layer"])
        steps = torch.stack([model.decode_step(tgt[:, t : t + 1], memory, src, cache) for t in range(11)], 1)
    torch.testing.assert_close(steps, full, **TOL)
    assert cache.layers[0][0].k.shape == (6, CFG["n_head"], 11, CFG["n_embd"] // CFG["n_head"])
    assert cache.layers[0][1].k.shape[2] == 7  # cross-attention: the memory's keys, computed once


# seeds of fresh models whose outputs vary; with post-LN seed 1 a row ends early (EOS, then PAD)
@pytest.mark.parametrize("norm_first, seed", [(False, 1), (True, 4)])
def test_cached_greedy_and_beam_search_give_the_tokens_of_the_cacheless_path(norm_first, seed, monkeypatch):
    torch.manual_seed(seed)
    model = Seq2Seq(Seq2SeqConfig(**CFG, norm_first=norm_first)).eval()
    src = ids_with_padding(6, 7, [7, 5, 7, 2, 4, 1], torch.Generator().manual_seed(8))
    greedy = model.greedy(src, max_len=14)
    assert torch.equal(greedy, model.greedy(src, max_len=14, use_cache=False))
    assert (greedy == EOS).any() == (not norm_first)
    for K in (2, 4):
        beams = model.beam_search(src, beam_size=K, max_len=14)
        assert torch.equal(beams, model.beam_search(src, beam_size=K, max_len=14, use_cache=False))
    # the beams swap rows here: a cache that did not follow them would decode other tokens
    monkeypatch.setattr(DecoderCache, "reorder", lambda self, rows: None)
    assert not torch.equal(model.beam_search(src, beam_size=4, max_len=14), beams)


def test_beam_search_scores_at_least_as_well_as_greedy_and_a_copy_model_copies():
    model = trained_copy_model()
    gen = torch.Generator().manual_seed(7)
    src = torch.randint(3, CFG["vocab_size"], (8, 5), generator=gen)
    greedy = model.greedy(src)
    beam = model.beam_search(src, beam_size=4, alpha=0.0)  # alpha 0: the highest log-probability wins

    def logprob(out: torch.Tensor) -> torch.Tensor:
        """log p(tokens up to EOS | src) of each decoded row."""
        rows = [strip(r.tolist()) + [EOS] for r in out]
        tgt_out = torch.tensor([r + [PAD] * (12 - len(r)) for r in rows])  # (B, 12)
        tgt_in = torch.cat([torch.full((len(rows), 1), BOS), tgt_out[:, :-1]], dim=1)
        logp = model(src, tgt_in)[0].log_softmax(-1).gather(2, tgt_out[:, :, None]).squeeze(2)
        return (logp * (tgt_out != PAD)).sum(1)

    assert (logprob(beam) >= logprob(greedy) - 1e-5).all()
    copied = sum(strip(r.tolist()) == s.tolist() for r, s in zip(beam, src, strict=True))
    assert copied >= 7, copied  # 250 steps of training copy nearly every sequence (150 gave 6 of 8 on a Xeon)
