"""Our RNN/GRU/LSTM cells against torch's nn.RNNCell/GRUCell/LSTMCell with the same weights."""

import pytest
import torch
from torch import nn

from nanozoo.models.rnn import RNNLM, GRUCell, LSTMCell, RNNCell, RNNConfig


@pytest.mark.parametrize(
    "ours, theirs", [(RNNCell, nn.RNNCell), (GRUCell, nn.GRUCell), (LSTMCell, nn.LSTMCell)]
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cell_matches_torch(ours, theirs, dtype):
    torch.manual_seed(0)
    cell, ref = ours(7, 5).to(dtype), theirs(7, 5).to(dtype)
    ref.load_state_dict(cell.state_dict())  # the same parameter names and gate order
    x = torch.randn(4, 7, dtype=dtype)
    h, c = torch.randn(4, 5, dtype=dtype), torch.randn(4, 5, dtype=dtype)
    hr, cr = h.clone(), c.clone()
    for _ in range(3):
        if ours is LSTMCell:
            h, c = cell(x, (h, c))
            hr, cr = ref(x, (hr, cr))
            torch.testing.assert_close(c, cr, atol=1e-6, rtol=0)
        else:
            h, hr = cell(x, h), ref(x, hr)
        torch.testing.assert_close(h, hr, atol=1e-6, rtol=0)  # the tolerance


@pytest.mark.parametrize("ours, theirs", [(GRUCell, nn.GRUCell), (LSTMCell, nn.LSTMCell)])
def test_cell_gradients_match_torch(ours, theirs):
    torch.manual_seed(1)
    cell, ref = ours(3, 4).double(), theirs(3, 4).double()
    ref.load_state_dict(cell.state_dict())
    x, h = torch.randn(2, 3).double(), torch.randn(2, 4).double()
    state = (h, torch.zeros_like(h)) if ours is LSTMCell else h
    out, out_ref = cell(x, state), ref(x, state)
    (out[0] if isinstance(out, tuple) else out).sum().backward()
    (out_ref[0] if isinstance(out_ref, tuple) else out_ref).sum().backward()
    torch.testing.assert_close(cell.weight_hh.grad, ref.weight_hh.grad, atol=1e-6, rtol=0)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_rnn_lm_shapes_and_padding_is_ignored(cell):
    torch.manual_seed(0)
    model = RNNLM(RNNConfig(vocab_size=6, block_size=5, n_embd=8, n_embd2=8, cell=cell))
    x = torch.randint(0, 6, (3, 5))
    y = torch.randint(0, 6, (3, 5))
    logits, loss = model(x, y)
    assert logits.shape == (3, 5, 6)
    y2 = y.clone()
    y2[:, -1] = -1
    # with the last targets ignored the loss is the mean over the others only
    expect = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, 6), y[:, :-1].reshape(-1))
    torch.testing.assert_close(model(x, y2)[1], expect, atol=1e-6, rtol=0)
    # causal: changing the last input leaves the earlier logits alone
    x2 = x.clone()
    x2[:, -1] = (x2[:, -1] + 1) % 6
    torch.testing.assert_close(model(x2)[0][:, :-1], logits[:, :-1], atol=1e-6, rtol=0)


def test_rnn_config_refuses_unknown_cell():
    with pytest.raises(ValueError, match="'tcn'"):
        RNNConfig(cell="tcn")
