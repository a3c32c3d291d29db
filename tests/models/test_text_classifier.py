"""The LSTM sentence classifier: its pooled states equal nn.LSTM's on each unpadded sentence."""

import pytest
import torch
from torch import nn

from nanozoo.models.text_classifier import LSTMClassifier, TextClassifierConfig, reverse_padded


def _pool(out: torch.Tensor, h_n: torch.Tensor, pool: str) -> torch.Tensor:
    """nn.LSTM's output (1, n, H) and final state (1, 1, H) of one direction, pooled."""
    return {"last": h_n[0, 0], "max": out[0].amax(0), "mean": out[0].mean(0)}[pool]


@pytest.mark.parametrize("pool", ["last", "max", "mean"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_pooled_states_equal_nn_lstm_on_each_sentence_and_ignore_padding(pool, bidirectional):
    torch.manual_seed(0)
    cfg = TextClassifierConfig(
        vocab_size=30, n_embd=8, n_hidden=6, dropout=0.0, pool=pool, bidirectional=bidirectional
    )
    model = LSTMClassifier(cfg).eval()
    ref = nn.LSTM(8, 6, batch_first=True, bidirectional=bidirectional)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(ref, f"{name}_l0").copy_(getattr(model.cell, name))
            if bidirectional:
                getattr(ref, f"{name}_l0_reverse").copy_(getattr(model.cell_reverse, name))
    lengths = [5, 2, 7, 1]
    idx = torch.zeros(4, 9, dtype=torch.long)  # right-padded with 0
    for i, n in enumerate(lengths):
        idx[i, :n] = torch.randint(2, 30, (n,))
    logits, _ = model(idx)
    for i, n in enumerate(lengths):
        out, (h_n, _) = ref(model.wte(idx[i : i + 1, :n]))  # out (1, n, 2 H): forward then backward
        pooled = [_pool(out[..., :6], h_n[:1], pool)]
        if bidirectional:
            pooled.append(_pool(out[..., 6:], h_n[1:], pool))
        torch.testing.assert_close(logits[i], model.head(torch.cat(pooled)), atol=1e-6, rtol=0)
    torch.testing.assert_close(model(idx[:, :7])[0], logits, atol=1e-6, rtol=0)  # less padding, same


def test_reverse_padded_reverses_each_row_and_keeps_its_padding():
    idx = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0], [0, 0, 0, 0]])
    got = reverse_padded(idx, (idx != 0).sum(1))
    assert got.tolist() == [[3, 2, 1, 0], [5, 4, 0, 0], [0, 0, 0, 0]]


def test_pool_is_checked():
    with pytest.raises(ValueError, match="model.pool='median'"):
        TextClassifierConfig(pool="median")
