"""Image classifiers: MLP, LeNet-style CNN, small ResNet (code: experiments/vision.py, models/cnn.py)."""

from functools import partial

from nanozoo.experiments.registry import Experiment, Reference

_exp = partial(Experiment, module="nanozoo.experiments.vision")
_ACC = partial(Reference, "test_acc", lower_is_better=False)

EXPERIMENTS = [
    _exp(
        name="digits-cnn",
        summary="LeNet-style CNN (our im2col conv and max-pool) on scikit-learn's 8x8 digits; test_acc",
        config="digits_cnn",
        reference=_ACC(
            0.98,
            "no published figure for this split: issue 12's goal (>= 98% in under a minute on 2 cores)",
            note="logreg-digits (softmax regression) reaches 0.9644 on the same test quarter",
        ),
    ),
    _exp(
        name="mnist-mlp",
        summary="MLP, 2 hidden layers of 256, on MNIST (needs the training images: see `nanozoo data list`)",
        config="mnist_mlp",
        reference=_ACC(
            0.98, "LeCun et al. 1998, Table 1 / the MNIST page: 2-layer MLPs 97-98.5% (no distortions)"
        ),
    ),
    _exp(
        name="mnist-cnn",
        summary="LeNet-style CNN (3x3 convs 32, 64; our im2col conv) on MNIST",
        config="mnist_cnn",
        reference=_ACC(0.992, "LeCun et al. 1998: LeNet-5 99.05%; issue 12 asks >= 99.2% for a CNN"),
    ),
    _exp(
        name="fashion-mnist-mlp",
        summary="MLP, 2 hidden layers of 256, on Fashion-MNIST (Debian's dataset-fashion-mnist)",
        config="fashion_mnist_mlp",
        reference=_ACC(
            0.89, "Xiao et al. 2017 benchmark (zalandoresearch/fashion-mnist): MLPClassifier ~0.87-0.88"
        ),
    ),
    _exp(
        name="fashion-mnist-cnn",
        summary="LeNet-style CNN (3x3 convs 16, 32; F.conv2d, ours with model.conv_impl=ours), Fashion-MNIST",
        config="fashion_mnist_cnn",
        reference=_ACC(
            0.91,
            "zalandoresearch/fashion-mnist README: small 2-layer CNNs 0.91-0.93",
            note="issue 12's goal: >= 91% test in <= 5 minutes on 2 cores",
        ),
    ),
    _exp(
        name="cifar10-resnet",
        summary="ResNet-20 (3 stages of 3 basic blocks, BatchNorm) on CIFAR-10 (163 MB: not on this host)",
        config="cifar10_resnet",
        reference=_ACC(
            0.9125, "He et al. 2016, Table 6: ResNet-20 91.25% (with flip+crop augmentation, 64k steps)"
        ),
    ),
]
