"""Dataclass configs and `--set section.key=value` overrides, parsed against the field types.

An experiment's config is a dataclass whose fields are section dataclasses (`model`, `train`, ...).
`apply_overrides(cfg, ["train.lr=3e-4", "model.n_layer=2"])` returns a new, validated config; an unknown
key or a value of the wrong type raises `ConfigError` naming the valid keys (with a did-you-mean).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from nanozoo.core.errors import UserError


class ConfigError(UserError, ValueError):
    """A config key or value a user gave is not valid."""


@dataclass
class TrainConfig:
    """The trainer's knobs; every torch experiment has one as its `train` section."""

    max_iters: int = 2000
    # a wall-clock budget: stop as at max_iters (final evaluation, samples) once the run's elapsed_s
    # (evaluations included) reaches it; 0: off
    max_seconds: float = 0.0
    batch_size: int = 32  # sequences per optimizer step per process, before accumulation
    grad_accum: int = 1  # micro-batches per optimizer step
    lr: float = 1e-3
    min_lr: float = 1e-4  # cosine floor
    warmup_iters: int = 100
    lr_decay_iters: int = 0  # 0: decay over max_iters
    # noam: Vaswani et al. 2017 (5.3), lr * min(s^-0.5, s * warmup^-1.5) * warmup^0.5 at step s: linear up to
    # lr at warmup_iters, then falling as 1/sqrt(s); lr = d_model^-0.5 * warmup^-0.5 is the paper's curve
    schedule: Literal["cosine", "constant", "linear", "noam"] = "cosine"
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0  # 0: no clipping
    # muon: Muon (core/muon.py) on the hidden weight matrices at muon_lr (following the schedule, scaled
    # by muon_lr / lr), AdamW on the embeddings, head, biases and gains at lr
    optimizer: Literal["adamw", "muon"] = "adamw"
    muon_lr: float = 0.02
    muon_momentum: float = 0.95
    eval_interval: int = 250
    eval_iters: int = 50  # batches per split per evaluation
    log_interval: int = 10
    ckpt_interval: int = 0  # 0: at every evaluation
    checkpoint_every_s: float = 60.0  # also checkpoint this often, so a crash loses at most that; 0: off
    seed: int = 1337
    device: str = "auto"  # auto | cpu | cuda | cuda:1 | mps
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"  # autocast dtype; auto: bf16 on GPUs
    # float32 matmuls: "highest" float32 math; "high" TF32 on GPUs; "medium" bf16 inside them (on a CPU
    # where torch's oneDNN check passes: AVX-512 or AMX; float32 math elsewhere). The weights, activations
    # and optimizer stay float32, unlike bf16 autocast: the 4x128 CPU recipe takes it (RESULTS.md)
    matmul_precision: Literal["highest", "high", "medium"] = "highest"
    compile: bool = False  # torch.compile the model
    threads: int = 0  # torch.set_num_threads; 0: leave torch's default
    progress: bool = True  # a progress bar on a terminal
    heartbeat_s: float = 30.0  # without a bar (not a terminal): a one-line status this often; 0: off

    def __post_init__(self):
        for name in ("max_iters", "batch_size", "grad_accum", "eval_interval", "log_interval"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name}={getattr(self, name)} must be >= 1")
        for name in (
            *("lr", "min_lr", "weight_decay", "grad_clip", "warmup_iters", "eval_iters", "lr_decay_iters"),
            *("ckpt_interval", "checkpoint_every_s", "threads", "heartbeat_s", "max_seconds", "muon_lr"),
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"train.{name}={getattr(self, name)} must be >= 0")
        if self.optimizer not in ("adamw", "muon"):
            raise ConfigError(f"train.optimizer={self.optimizer!r}; expected 'adamw' or 'muon'")
        if not 0.0 <= self.muon_momentum < 1.0:
            raise ConfigError(f"train.muon_momentum={self.muon_momentum} must be in [0, 1)")
        if self.optimizer == "muon" and self.lr == 0:
            raise ConfigError("train.optimizer='muon' scales muon_lr by lr_at(step) / train.lr: set lr > 0")
        if self.min_lr > self.lr:
            raise ConfigError(f"train.min_lr={self.min_lr} is above train.lr={self.lr}")
        if self.matmul_precision not in ("highest", "high", "medium"):
            raise ConfigError(
                f"train.matmul_precision={self.matmul_precision!r}; expected 'highest', 'high' or 'medium'"
            )
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", self.device):
            raise ConfigError(f"train.device={self.device!r}: expected auto, cpu, cuda, cuda:N or mps")


# ---------------------------------------------------------------------------------------------------
# dict <-> dataclass


def to_dict(cfg: Any) -> dict:
    return dataclasses.asdict(cfg)


def from_dict(cls: type, d: dict) -> Any:
    """Build `cls` from a (possibly nested) dict, refusing unknown keys."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - names
    if unknown:
        raise ConfigError(f"unknown key(s) {sorted(unknown)} for {cls.__name__}; valid: {sorted(names)}")
    kwargs = {}
    for k, v in d.items():
        t = hints[k]
        kwargs[k] = (
            from_dict(t, v) if dataclasses.is_dataclass(t) and isinstance(v, dict) else _coerce(t, v, k)
        )
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except ValueError as e:  # a section's __post_init__ refusing a value: the user's config, not a bug
        raise ConfigError(str(e)) from e


def save_json(cfg: Any) -> str:
    return json.dumps(to_dict(cfg), indent=2)


# ---------------------------------------------------------------------------------------------------
# Overrides


def describe(cfg: Any, prefix: str = "") -> list[tuple[str, str, Any]]:
    """(dotted key, type, value) of every settable key of a config, in field order (`nanozoo show`)."""
    out = []
    hints = typing.get_type_hints(type(cfg))
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v):
            out += describe(v, f"{prefix}{f.name}.")
        else:
            t = hints[f.name]
            name = t.__name__ if isinstance(t, type) else str(t).replace("typing.", "")
            out.append((f"{prefix}{f.name}", name, v))
    return out


def override_items(overrides: list[str] | dict[str, Any]) -> list[tuple[str, Any]]:
    """`["a.b=1"]` or `{"a.b": 1}` as `[("a.b", "1")]` / `[("a.b", 1)]`."""
    return list(overrides.items()) if isinstance(overrides, dict) else [_split(o) for o in overrides]


def changed(a: Any, b: Any) -> dict[str, tuple[Any, Any]]:
    """The dotted keys whose values differ between two configs of one type: {key: (in a, in b)}."""

    def flat(d: dict, prefix: str = "") -> dict[str, Any]:
        out = {}
        for k, v in d.items():
            out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
        return out

    fa, fb = flat(to_dict(a)), flat(to_dict(b))
    return {k: (fa[k], fb[k]) for k in fa if fa[k] != fb[k]}


def refuse_derived(given: Any, derived: Any, overrides: list[str] | dict[str, Any]) -> None:
    """Refuse an override of a value an experiment derives from its data (vocab_size): it would be replaced.

    `given` is the config before the experiment's setup filled in derived values, `derived` after."""
    set_keys = {k for k, _ in override_items(overrides)}
    for key, (mine, data_value) in changed(given, derived).items():
        if key in set_keys:
            raise ConfigError(
                f"{key} comes from the data ({data_value!r} here), so --set {key}={mine!r} would be "
                f"replaced: drop it"
            )


def keys(cfg: Any) -> list[str]:
    """Every settable dotted key of a config."""
    return [k for k, _, _ in describe(cfg)]


def apply_overrides(cfg: Any, overrides: list[str] | dict[str, Any]) -> Any:
    """Return a copy of `cfg` with `key=value` overrides applied; each section is re-validated."""
    items = override_items(overrides)
    d = to_dict(cfg)
    valid = keys(cfg)
    for key, raw in items:
        if key not in valid:
            close = difflib.get_close_matches(key, valid, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"unknown config key {key!r}{hint}; valid keys: {', '.join(valid)}")
        *path, leaf = key.split(".")
        node, owner = d, cfg
        for p in path:
            node, owner = node[p], getattr(owner, p)
        t = typing.get_type_hints(type(owner))[leaf]
        node[leaf] = _parse(t, raw, key) if isinstance(raw, str) else _coerce(t, raw, key)
    return from_dict(type(cfg), d)


def _split(o: str) -> tuple[str, str]:
    if "=" not in o:
        raise ConfigError(f"override {o!r} is not of the form section.key=value")
    k, v = o.split("=", 1)
    return k.strip(), v.strip()


_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def _parse(t: Any, s: str, key: str) -> Any:
    """Parse the string `s` as a value of type `t`."""
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and s.lower() in ("none", "null"):
            return None
        for a in args:
            if a is not type(None):
                try:
                    return _parse(a, s, key)
                except ConfigError:
                    pass
        raise ConfigError(f"{key}={s!r}: expected {t}")
    if origin is Literal:
        for a in args:
            if str(a) == s:
                return a
        raise ConfigError(f"{key}={s!r}: expected one of {list(args)}")
    if origin in (tuple, list):
        parts = [p for p in s.strip("()[]").split(",") if p.strip()]
        inner = args[0] if args else str
        return origin(_parse(inner, p.strip(), key) for p in parts)
    if t is bool:
        if s.lower() in _TRUE:
            return True
        if s.lower() in _FALSE:
            return False
        raise ConfigError(f"{key}={s!r}: expected a bool (true/false)")
    try:
        if t is int:
            f = float(s)
            if not f.is_integer():
                raise ValueError
            return int(f)  # accepts 5e3
        if t is float:
            return float(s)
    except ValueError:
        raise ConfigError(f"{key}={s!r}: expected {t.__name__}") from None
    if t is str:
        return s
    raise ConfigError(f"{key}: type {t} cannot be set from the command line")


def _coerce(t: Any, v: Any, key: str) -> Any:
    """Check a JSON/Python value against type `t` (ints are accepted as floats)."""
    if isinstance(v, str) and t is not str and typing.get_origin(t) is not Literal:
        return _parse(t, v, key)
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin in (tuple, list) and isinstance(v, (list, tuple)):
        return origin(v)
    if t is float and isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    if t in (int, float, bool, str) and not (isinstance(v, t) and (t is bool or not isinstance(v, bool))):
        raise ConfigError(f"{key}={v!r}: expected {t.__name__}")
    if origin is Literal and v not in args:
        raise ConfigError(f"{key}={v!r}: expected one of {list(args)}")
    return v


__all__ = [
    "ConfigError",
    "TrainConfig",
    "apply_overrides",
    "changed",
    "describe",
    "field",
    "from_dict",
    "keys",
    "override_items",
    "refuse_derived",
    "save_json",
    "to_dict",
]
