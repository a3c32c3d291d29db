"""The image classifiers: shapes, our conv path equal to torch's, the ResNet's residual blocks."""

import pytest
import torch
import torch.nn.functional as F

from nanozoo.models.cnn import CNN, BasicBlock, CNNConfig


@pytest.mark.parametrize(
    "cfg",
    [
        CNNConfig(arch="mlp", image_size=8, n_hidden=16),
        CNNConfig(arch="lenet", image_size=8, channels=(4, 8), n_hidden=16),
        CNNConfig(arch="lenet", image_size=28, channels=(4,), kernel_size=5, n_hidden=16),
        CNNConfig(arch="resnet", image_size=32, in_channels=3, channels=(4, 8, 16), n_blocks=2),
    ],
    ids=["mlp", "lenet-8", "lenet-28", "resnet"],
)
def test_logits_and_loss(cfg):
    torch.manual_seed(0)
    model = CNN(cfg)
    x = torch.randn(5, cfg.in_channels, cfg.image_size, cfg.image_size)
    y = torch.randint(0, cfg.n_classes, (5,))
    logits, loss = model(x, y)
    assert logits.shape == (5, cfg.n_classes)
    assert loss.item() == pytest.approx(F.cross_entropy(logits, y).item())
    assert model(x)[1] is None


def test_our_conv_path_equals_torchs_with_the_same_weights():
    torch.manual_seed(0)
    cfg = CNNConfig(arch="lenet", image_size=12, channels=(3, 5), n_hidden=8)
    ours = CNN(cfg)
    theirs = CNN(CNNConfig(**{**cfg.__dict__, "conv_impl": "torch"}))
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(4, 1, 12, 12)
    torch.testing.assert_close(ours(x)[0], theirs(x)[0], atol=1e-5, rtol=1e-5)
    y = torch.randint(0, 10, (4,))
    ours(x, y)[1].backward()
    theirs(x, y)[1].backward()
    for (k, a), b in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-5, rtol=1e-5, msg=k)


def test_basic_block_is_the_residual_of_its_two_convolutions():
    torch.manual_seed(0)
    same, down = BasicBlock(4, 4, 1).eval(), BasicBlock(4, 8, 2).eval()
    x = torch.randn(2, 4, 8, 8)
    body = same.bn2(same.conv2(F.relu(same.bn1(same.conv1(x)))))
    torch.testing.assert_close(same(x), F.relu(body + x))  # the identity shortcut
    assert down(x).shape == (2, 8, 4, 4) and len(down.shortcut) == 2  # 1x1 projection + BN


def test_config_is_validated():
    with pytest.raises(ValueError, match="too small"):
        CNNConfig(arch="lenet", image_size=4, channels=(4, 8, 16))
    with pytest.raises(ValueError, match="kernel_size=4"):
        CNNConfig(kernel_size=4)
    with pytest.raises(ValueError, match="channels"):
        CNNConfig(channels=())
