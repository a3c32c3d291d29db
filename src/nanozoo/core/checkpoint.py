"""Checkpoints: safetensors for tensors, JSON for the rest, every file written atomically. Never pickle.

A run folder holds
  model.safetensors          the weights (shared/tied tensors stored once), metadata {format, step}
  trainer_state.safetensors  optimizer moments and RNG states, metadata {format, step}
  trainer_state.json         step, optimizer hyper-parameters, data/RNG bookkeeping: written last, so it is
                             the commit point; a resume checks that all three name the same step.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, load_model, save_file, save_model
from torch import nn

from nanozoo.core.atomic import atomic_path, atomic_write
from nanozoo.core.errors import UserError

FORMAT_VERSION = 1


class CheckpointError(UserError, ValueError):
    """A checkpoint is missing, truncated, inconsistent or from another model."""


def _meta(step: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"format": str(FORMAT_VERSION), "step": str(step), **(extra or {})}


def save_tensors(
    tensors: dict[str, torch.Tensor], path: str | Path, metadata: dict[str, str] | None = None
) -> None:
    """A dict of tensors to a safetensors file, atomically (temp file beside it, fsync, rename)."""
    with atomic_path(path) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, tmp, metadata=metadata)


# ---------------------------------------------------------------------------------------------------
# Model weights


def save_weights(
    model: nn.Module, path: str | Path, step: int = 0, metadata: dict[str, str] | None = None
) -> None:
    """Weights to safetensors, atomically; tied parameters (wte / lm_head) are written once. A model wrapped
    by torch.compile is saved as the model it wraps: no `_orig_mod.` prefix reaches the file."""
    with atomic_path(path) as tmp:
        save_model(unwrapped(model), str(tmp), metadata=_meta(step, metadata))


def unwrapped(model: nn.Module) -> nn.Module:
    """The module under torch.compile's wrapper (its `_orig_mod`), or the module itself."""
    return getattr(model, "_orig_mod", model)


def read_metadata(path: str | Path) -> dict[str, str]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), "pt") as f:
            return f.metadata() or {}
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"{path} is not a readable safetensors file ({e})") from None


def load_weights(model: nn.Module, path: str | Path) -> dict[str, str]:
    """Load weights into `model` (strict). A truncated or foreign file raises CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    meta = read_metadata(path)
    try:
        missing, unexpected = load_model(unwrapped(model), str(path), strict=False)
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"{path} is truncated or corrupt ({e})") from None
    except RuntimeError as e:  # shape mismatch
        raise CheckpointError(f"{path} does not fit this model: {str(e).splitlines()[-1].strip()}") from None
    if missing or unexpected:
        raise CheckpointError(
            f"{path} is from another model: missing {sorted(missing)[:4]}, "
            f"unexpected {sorted(unexpected)[:4]}"
        )
    return meta


# ---------------------------------------------------------------------------------------------------
# Trainer state: optimizer + RNG + bookkeeping


def save_trainer_state(
    run_dir: Path,
    step: int,
    optimizer: torch.optim.Optimizer,
    rng: dict[str, torch.Tensor],
    info: dict[str, Any],
) -> None:
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, st in sd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"optim.{idx}.{k}"] = v
            else:
                scalars.setdefault(str(idx), {})[k] = v
    for k, v in rng.items():
        tensors[f"rng.{k}"] = v
    save_tensors(tensors, run_dir / "trainer_state.safetensors", metadata=_meta(step))
    doc = {
        "format": FORMAT_VERSION,
        "step": step,
        "param_groups": sd["param_groups"],
        "optim_scalars": scalars,
        **info,
    }
    atomic_write(run_dir / "trainer_state.json", json.dumps(doc, indent=2))


def load_trainer_state(run_dir: Path) -> tuple[dict, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Returns (json doc, optimizer state_dict, rng tensors); checks the three files name one step."""
    jpath, spath, mpath = (
        run_dir / n for n in ("trainer_state.json", "trainer_state.safetensors", "model.safetensors")
    )
    for p in (jpath, spath, mpath):
        if not p.is_file():
            raise CheckpointError(f"cannot resume from {run_dir}: {p.name} is missing (no checkpoint yet?)")
    try:
        doc = upgrade(json.loads(jpath.read_text()))
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as e:
        raise CheckpointError(
            f"cannot resume from {run_dir}: {jpath.name} is truncated or corrupt ({e})"
        ) from None
    try:
        tensors = load_file(str(spath))
    except (SafetensorError, OSError) as e:
        raise CheckpointError(
            f"cannot resume from {run_dir}: {spath.name} is truncated or corrupt ({e})"
        ) from None
    steps = {doc["step"], _step_of(spath), _step_of(mpath)}
    if len(steps) != 1:
        raise CheckpointError(
            f"cannot resume from {run_dir}: its files are from different steps {sorted(steps)}"
        )
    state: dict[int, dict[str, Any]] = {}
    rng = {}
    for k, v in tensors.items():
        kind, rest = k.split(".", 1)
        if kind == "rng":
            rng[rest] = v
        else:
            idx, name = rest.split(".", 1)
            state.setdefault(int(idx), {})[name] = v
    for idx, sc in doc.get("optim_scalars", {}).items():
        state.setdefault(int(idx), {}).update(sc)
    return doc, {"state": state, "param_groups": doc["param_groups"]}, rng


def _step_of(path: Path) -> int:
    """The step in a safetensors checkpoint's metadata (-1 if it has none); a newer format is refused."""
    meta = read_metadata(path)
    fmt, step = meta.get("format", "1"), meta.get("step", "-1")
    if not (fmt.isdigit() and step.lstrip("-").isdigit()):
        raise CheckpointError(f"{path} is not a nanozoo checkpoint (metadata {meta})")
    if int(fmt) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: format {fmt} is newer than this nanozoo reads ({FORMAT_VERSION})")
    return int(step)


def upgrade(doc: Any) -> dict:
    """Bring a trainer_state.json of an older format up to FORMAT_VERSION (the one place that knows how);
    refuse one that is not ours, is newer, or lacks what a resume reads."""
    fmt = doc.get("format") if isinstance(doc, dict) else None
    if fmt is None or not isinstance(fmt, int):
        raise CheckpointError("trainer_state.json is not a nanozoo checkpoint (no format version)")
    if fmt > FORMAT_VERSION:
        raise CheckpointError(f"checkpoint format {fmt} is newer than this nanozoo reads ({FORMAT_VERSION})")
    for key, kind in (("step", int), ("param_groups", list)):
        if not isinstance(doc.get(key), kind):
            raise CheckpointError(
                f"trainer_state.json is corrupt: {key!r} is missing or not a {kind.__name__}"
            )
    return doc
