"""Every context model reads its context: changing an early token changes the later logits (an RNN that
dropped its state, a window model that ignored a position, would not), and a causal model's logits never
depend on a later token. Eval mode, so BatchNorm uses its running statistics; every parameter random at a
scale where a signal survives 16 steps (at init an RNN's memory of the first token fades to ~1e-5)."""

import pytest
import torch

from nanozoo.models.backprop import BackpropConfig, ManualMLP
from nanozoo.models.bow import BoW, BoWConfig
from nanozoo.models.gpt import GPT, GPTConfig
from nanozoo.models.mlp_lm import MLPLM, MLPConfig
from nanozoo.models.rnn import RNNLM, RNNConfig
from nanozoo.models.wavenet import WaveNet, WaveNetConfig

V, T = 27, 16
MOVED = 1e-3  # an early token must move some later logit by more than this (measured: >= 0.03)

WINDOW = {  # predict one character from the last block_size
    "mlp": lambda: MLPLM(MLPConfig()),
    "mlp-bn": lambda: MLPLM(MLPConfig(batchnorm=True)),
    "backprop": lambda: ManualMLP(BackpropConfig()),
    "wavenet": lambda: WaveNet(WaveNetConfig()),
}
SEQUENCE = {  # predict every next character of a sequence
    "rnn": lambda: RNNLM(RNNConfig(cell="rnn")),
    "gru": lambda: RNNLM(RNNConfig(cell="gru")),
    "lstm": lambda: RNNLM(RNNConfig(cell="lstm")),
    "bow": lambda: BoW(BoWConfig()),
    "transformer": lambda: GPT(GPTConfig(vocab_size=V, block_size=T, n_layer=2, n_head=2, n_embd=32)),
}


def build(make):
    torch.manual_seed(0)
    model = make().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    return model


def logits_of(model, idx):
    with torch.no_grad():
        return model.logits(idx) if isinstance(model, GPT) else model(idx)[0]


def changed(idx, t):
    out = idx.clone()
    out[:, t] = (out[:, t] + 1 + torch.arange(len(idx)) % (V - 1)) % V  # another token in every row
    return out


@pytest.mark.parametrize("name", WINDOW)
def test_window_model_reads_every_position(name):
    model = build(WINDOW[name])
    idx = torch.randint(0, V, (8, model.config.block_size), generator=torch.Generator().manual_seed(1))
    base = logits_of(model, idx)  # (B, V)
    for t in range(model.config.block_size):  # the oldest character included
        moved = (logits_of(model, changed(idx, t)) - base).abs().amax(dim=-1)  # (B,)
        assert (moved > MOVED).all(), (t, moved.min())


@pytest.mark.parametrize("name", ["mlp", "wavenet"])
def test_window_model_over_a_sequence_is_causal(name):
    model = build(WINDOW[name])
    k = model.config.block_size
    idx = torch.randint(0, V, (4, T), generator=torch.Generator().manual_seed(2))
    base = logits_of(model, idx)  # (B, T - k + 1, V): position p predicts character p + k
    for t in (k, T // 2, T - 1):
        other = logits_of(model, changed(idx, t))
        p = t - k + 1  # the first window that holds character t
        assert torch.equal(other[:, :p], base[:, :p])  # exact: earlier windows never see it
        assert ((other[:, p] - base[:, p]).abs().amax(dim=-1) > MOVED).all()


@pytest.mark.parametrize("name", SEQUENCE)
def test_sequence_model_carries_the_first_token_and_is_causal(name):
    model = build(SEQUENCE[name])
    idx = torch.randint(0, V, (8, T), generator=torch.Generator().manual_seed(3))
    base = logits_of(model, idx)  # (B, T, V)
    moved = (logits_of(model, changed(idx, 0)) - base).abs().amax(dim=-1)  # (B, T)
    assert (moved[:, -1] > MOVED).all(), moved[:, -1].min()  # the first token still matters at the end
    for t in (1, T // 2, T - 1):
        other = logits_of(model, changed(idx, t))
        # exact for the recurrences; attention: masked scores are exactly -inf, so their weights are 0
        torch.testing.assert_close(other[:, :t], base[:, :t], atol=0, rtol=0)
        assert ((other[:, t] - base[:, t]).abs().amax(dim=-1) > MOVED).all()
