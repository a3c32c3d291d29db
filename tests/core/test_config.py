from dataclasses import dataclass, field
from typing import Literal

import pytest

from nanozoo.core.config import (
    ConfigError,
    TrainConfig,
    apply_overrides,
    changed,
    from_dict,
    keys,
    refuse_derived,
    to_dict,
)


@dataclass
class Model:
    n_layer: int = 2
    dropout: float = 0.0
    bias: bool = True
    act: Literal["gelu", "relu"] = "gelu"
    hidden: tuple[int, ...] = (16, 16)
    name: str | None = None


@dataclass
class Cfg:
    model: Model = field(default_factory=Model)
    train: TrainConfig = field(default_factory=TrainConfig)


def test_overrides_parse_against_field_types():
    cfg = apply_overrides(
        Cfg(),
        [
            "model.n_layer=4",
            "model.dropout=0.1",
            "model.bias=false",
            "model.act=relu",
            "model.hidden=32,8",
            "train.max_iters=5e3",
            "model.name=none",
        ],
    )
    assert (cfg.model.n_layer, cfg.model.dropout, cfg.model.bias, cfg.model.act) == (4, 0.1, False, "relu")
    assert cfg.model.hidden == (32, 8) and cfg.train.max_iters == 5000 and cfg.model.name is None
    assert Cfg().model.n_layer == 2  # the default is not mutated


def test_unknown_key_names_valid_keys_and_suggests():
    with pytest.raises(ConfigError, match=r"did you mean train\.max_iters\?.*valid keys: model\.n_layer"):
        apply_overrides(Cfg(), ["train.max_iter=3"])


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.n_layer=two", "expected int"),
        ("model.n_layer=2.5", "expected int"),
        ("model.bias=maybe", "expected a bool"),
        ("model.act=tanh", "expected one of"),
        ("train.lr", "not of the form"),
        ("train.batch_size=0", "must be >= 1"),
        ("train.min_lr=1", "above train.lr"),
        ("train.device=tpu", "train.device='tpu': expected auto, cpu, cuda, cuda:N or mps"),
        ("train.device=cuda:x", "expected auto, cpu, cuda, cuda:N or mps"),
        ("train.checkpoint_every_s=-1", "train.checkpoint_every_s=-1.0 must be >= 0"),
        ("train.heartbeat_s=-5", "must be >= 0"),
    ],
)
def test_bad_values_are_refused(override, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides(Cfg(), [override])


def test_dict_round_trip_and_unknown_keys():
    cfg = apply_overrides(Cfg(), ["model.hidden=3,4"])
    assert from_dict(Cfg, to_dict(cfg)) == cfg
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(Cfg, {"model": {"n_layers": 3}})
    assert "train.lr" in keys(Cfg()) and "model" not in keys(Cfg())


def test_devices_are_validated_by_name():
    for ok in ("auto", "cpu", "cuda", "cuda:1", "mps"):
        assert TrainConfig(device=ok).device == ok


def test_an_override_of_a_derived_value_is_refused():
    given = apply_overrides(Cfg(), ["model.n_layer=10", "train.lr=0.01"])
    derived = apply_overrides(given, ["model.n_layer=65"])  # what a setup would fill in from the data
    assert changed(given, derived) == {"model.n_layer": (10, 65)}
    with pytest.raises(ConfigError, match=r"model.n_layer comes from the data \(65 here\).*10"):
        refuse_derived(given, derived, ["model.n_layer=10", "train.lr=0.01"])
    refuse_derived(given, derived, {"train.lr": 0.01})  # setup may fill in what the user did not set
