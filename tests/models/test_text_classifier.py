"""The LSTM sentence classifier: its last state equals nn.LSTM's on each unpadded sentence."""

import torch
from torch import nn

from nanozoo.models.text_classifier import LSTMClassifier, TextClassifierConfig


def test_last_state_equals_nn_lstm_on_each_sentence_and_ignores_padding():
    torch.manual_seed(0)
    cfg = TextClassifierConfig(vocab_size=30, n_embd=8, n_hidden=6, dropout=0.0)
    model = LSTMClassifier(cfg).eval()
    ref = nn.LSTM(8, 6, batch_first=True)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(ref, f"{name}_l0").copy_(getattr(model.cell, name))
    lengths = [5, 2, 7]
    idx = torch.zeros(3, 9, dtype=torch.long)  # right-padded with 0
    for i, n in enumerate(lengths):
        idx[i, :n] = torch.randint(2, 30, (n,))
    logits, _ = model(idx)
    for i, n in enumerate(lengths):
        _, (h, _) = ref(model.wte(idx[i : i + 1, :n]))
        torch.testing.assert_close(logits[i], model.head(h[0, 0]), atol=1e-6, rtol=0)
    torch.testing.assert_close(model(idx[:, :7])[0], logits, atol=1e-6, rtol=0)  # less padding, same
