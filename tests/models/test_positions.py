import math

import pytest
import torch

from nanozoo.models.positions import alibi_bias, alibi_slopes, rope, rope_angles, sinusoidal


def test_sinusoidal_is_the_closed_form():
    # by hand, D=4: frequencies 1 and 10000^(-2/4) = 0.01; even channels sin, odd ones cos
    pe = sinusoidal(3, 4)
    expected = [[math.sin(t), math.cos(t), math.sin(0.01 * t), math.cos(0.01 * t)] for t in range(3)]
    torch.testing.assert_close(pe, torch.tensor(expected), atol=1e-6, rtol=0)
    # every entry, D=16: PE[t, 2i] = sin(t / 10000^(2i/D)), PE[t, 2i+1] = cos(...)
    pe = sinusoidal(50, 16)
    for t in (0, 7, 49):
        for i in range(8):
            angle = t / 10000 ** (2 * i / 16)
            assert pe[t, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-5)
            assert pe[t, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-5)
    with pytest.raises(ValueError, match="even width, not D=5"):
        sinusoidal(4, 5)


def test_sinusoidal_shift_is_a_rotation():
    # the reason Vaswani et al. chose it: PE[t + k] is a fixed linear map (a rotation per pair) of PE[t]
    D, k = 8, 5
    pe = sinusoidal(40, D)
    w = 10000 ** (-torch.arange(0, D, 2) / D)
    c, s = torch.cos(k * w), torch.sin(k * w)
    sin_t, cos_t = pe[:-k, 0::2], pe[:-k, 1::2]
    torch.testing.assert_close(pe[k:, 0::2], sin_t * c + cos_t * s, atol=1e-5, rtol=0)
    torch.testing.assert_close(pe[k:, 1::2], cos_t * c - sin_t * s, atol=1e-5, rtol=0)


def test_rope_scores_depend_only_on_relative_position():
    torch.manual_seed(0)
    q, k = torch.randn(1, 1, 1, 16), torch.randn(1, 1, 1, 16)

    def score(m, n):
        return (rope(q, torch.tensor([m])) * rope(k, torch.tensor([n]))).sum().item()

    for m, n in [(3, 1), (10, 2), (0, 7)]:
        for shift in (1, 13, 200):
            assert score(m + shift, n + shift) == pytest.approx(score(m, n), abs=1e-4)
    by_distance = [score(d, 0) for d in range(8)]
    assert max(by_distance) - min(by_distance) > 0.1  # and they do depend on it
    # a rotation: norms kept, position 0 is the identity
    x = torch.randn(2, 3, 6, 8)
    pos = torch.arange(6)
    torch.testing.assert_close(rope(x, pos).norm(dim=-1), x.norm(dim=-1), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(rope(x, torch.zeros(6, dtype=torch.long)), x)
    # per-row positions (B, T) equal the shared ones row by row
    rows = torch.stack([pos, pos + 4])
    torch.testing.assert_close(rope(x, rows)[1], rope(x[1:], pos + 4)[0])


def test_rope_matches_hf_llama(need):
    transformers = need("transformers")
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb

    cfg = transformers.LlamaConfig(hidden_size=64, num_attention_heads=4, max_position_embeddings=64)
    torch.manual_seed(0)
    q, k = torch.randn(2, 4, 10, 16), torch.randn(2, 4, 10, 16)
    pos = torch.arange(3, 13)[None].expand(2, -1)
    cos, sin = LlamaRotaryEmbedding(cfg)(q, pos)  # (B, T, D)
    ours_cos, ours_sin = rope_angles(pos, 16)
    torch.testing.assert_close(ours_cos, cos, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours_sin, sin, atol=1e-5, rtol=1e-5)
    hq, hk = apply_rotary_pos_emb(q, k, cos, sin)
    torch.testing.assert_close(rope(q, pos), hq, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(rope(k, pos), hk, atol=1e-5, rtol=1e-5)


def test_alibi_slopes_and_bias_values():
    # the paper: 8 heads get 1/2, 1/4, ..., 1/256
    torch.testing.assert_close(alibi_slopes(8), torch.tensor([2.0**-h for h in range(1, 9)]))
    # 6 heads: the 4-head sequence (1/4, 1/16, 1/64, 1/256), then every other 8-head slope (1/2, 1/8)
    torch.testing.assert_close(
        alibi_slopes(6), torch.tensor([2.0**-2, 2.0**-4, 2.0**-6, 2.0**-8, 0.5, 2.0**-3])
    )
    # the bias matrix by hand: head h adds -slope_h * (i - j); 2 heads have slopes 1/16 and 1/256
    b = alibi_bias(alibi_slopes(2), torch.arange(3), torch.arange(3))
    d = torch.tensor([[0.0, 1, 2], [-1, 0, 1], [-2, -1, 0]]).T  # i - j
    torch.testing.assert_close(b, torch.stack([-d / 16, -d / 256]))
    assert b.shape == (2, 3, 3) and alibi_bias(
        alibi_slopes(2), torch.zeros(4, 3), torch.zeros(4, 5)
    ).shape == (4, 2, 3, 5)


def test_alibi_slopes_match_bloom(need):
    need("transformers")
    from transformers.models.bloom.modeling_bloom import build_alibi_tensor

    for H in (1, 3, 8, 12):
        # BLOOM's alibi is slope_h * j (a per-row constant away from ours: softmax does not see it)
        got = build_alibi_tensor(torch.ones(1, 4), H, torch.float32).view(H, 1, 4)[:, 0, 1]
        torch.testing.assert_close(alibi_slopes(H), got, msg=f"H={H}")
