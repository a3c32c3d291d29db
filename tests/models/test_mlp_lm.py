"""The MLP language model and our hand-written BatchNorm against nn.BatchNorm1d."""

import pytest
import torch
from torch import nn

from nanozoo.models.mlp_lm import MLPLM, BatchNorm1d, MLPConfig


def test_parameter_count_is_the_lectures():
    assert MLPLM(MLPConfig()).num_params() == 11897  # context 3, embedding 10, hidden 200


@pytest.mark.parametrize("shape", [(32, 6), (8, 5, 6)])
def test_batchnorm_matches_torch_train_and_eval(shape):
    torch.manual_seed(0)
    ours, ref = BatchNorm1d(6), nn.BatchNorm1d(6)
    with torch.no_grad():
        ours.weight.uniform_(0.5, 1.5)
        ours.bias.uniform_(-0.5, 0.5)
    ref.load_state_dict(ours.state_dict(), strict=False)  # torch adds num_batches_tracked
    # torch wants (B, C, T) where we take (B, T, C)
    to_ref = (lambda t: t) if len(shape) == 2 else (lambda t: t.transpose(1, 2))
    for _ in range(3):
        x = torch.randn(*shape) * 3 + 1
        torch.testing.assert_close(ours(x), to_ref(ref(to_ref(x))), atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(ours.running_mean, ref.running_mean, atol=1e-6, rtol=0)
    torch.testing.assert_close(ours.running_var, ref.running_var, atol=1e-6, rtol=0)
    ours.eval(), ref.eval()
    x = torch.randn(*shape)
    torch.testing.assert_close(ours(x), to_ref(ref(to_ref(x))), atol=1e-6, rtol=1e-6)


def test_batchnorm_gradients_match_torch():
    torch.manual_seed(0)
    ours, ref = BatchNorm1d(4).double(), nn.BatchNorm1d(4).double()
    x = torch.randn(10, 4, dtype=torch.float64, requires_grad=True)
    x2 = x.detach().clone().requires_grad_()
    w = torch.randn(10, 4, dtype=torch.float64)
    (ours(x) * w).sum().backward()
    (ref(x2) * w).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, atol=1e-10, rtol=0)
    torch.testing.assert_close(ours.weight.grad, ref.weight.grad, atol=1e-10, rtol=0)


def test_first_loss_is_near_uniform_and_mlp_is_causal_free():
    torch.manual_seed(0)
    model = MLPLM(MLPConfig(batchnorm=True))
    x, y = torch.randint(0, 27, (512, 3)), torch.randint(0, 27, (512,))
    _, loss = model(x, y)
    # the output layer scaled by 0.1: the first loss is close to -log(1/27) = 3.2958
    assert abs(loss.item() - 3.2958) < 0.15


def test_residual_keeps_the_first_layer_gradient_alive():
    torch.manual_seed(0)
    x, y = torch.randint(0, 27, (256, 3)), torch.randint(0, 27, (256,))
    norms = {}
    for residual in (False, True):
        model = MLPLM(MLPConfig(n_layer=20, n_hidden=64, residual=residual, init="torch"))
        model(x, y)[1].backward()
        norms[residual] = model.hidden[0].weight.grad.norm().item()
    assert norms[True] > 100 * norms[False]  # plain 20-layer tanh with torch's init: vanishing gradients
