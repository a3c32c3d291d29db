"""Input checks shared by the numpy models: a bad array is refused at `fit`/`predict`, naming the fault."""

from __future__ import annotations

import numpy as np


def check_X(X, name: str = "X", n_features: int | None = None) -> np.ndarray:
    """X as a float64 array of shape (N, D) with N >= 1, every entry finite."""
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be a 2-D array of numbers ({e})") from None
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, D), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {X.shape}")
    if not np.isfinite(X).all():
        bad = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(
            f"{name} has a NaN or infinite entry ({X[tuple(bad)]} at row {bad[0]}, column {bad[1]})"
        )
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features, the model was fitted on {n_features}")
    return X


def check_Xy(X, y, numeric_y: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """X (N, D) and y (N,), the same N; a numeric y must be finite."""
    X = check_X(X)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (N,), got shape {y.shape}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}: shape mismatch")
    if numeric_y:
        y = y.astype(np.float64)
        if not np.isfinite(y).all():
            raise ValueError(f"y has a NaN or infinite entry at index {int(np.argmax(~np.isfinite(y)))}")
    return X, y


def check_fitted(model, attr: str) -> None:
    if getattr(model, attr, None) is None:
        raise ValueError(f"this {type(model).__name__} is not fitted yet: call fit(X, ...) first")
