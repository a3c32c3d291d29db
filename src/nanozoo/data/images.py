"""Image data sets: the IDX format of MNIST and Fashion-MNIST, and CIFAR-10's python pickles.

IDX (LeCun's format): a big-endian header of two zero bytes, a type code (0x08 unsigned byte ... 0x0E
double) and the number of dimensions, then one 4-byte size per dimension, then the values in C order.
Images are magic 0x00000803 (N, rows, cols), labels 0x00000801 (N,). The files are usually gzipped.

CIFAR-10 python: `cifar-10-python.tar.gz` holds `cifar-10-batches-py/data_batch_1..5` and `test_batch`,
each a pickled dict with `b"data"` (10,000 x 3072 uint8: the red, then green, then blue 32 x 32 plane of
each image) and `b"labels"`, and `batches.meta` with `b"label_names"`. They are read with an unpickler that
only builds numpy arrays and plain containers, since unpickling a file can otherwise run any code.
"""

from __future__ import annotations

import gzip
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from nanozoo.core.atomic import atomic_path
from nanozoo.data.catalogue import DataError, path

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"
)  # fmt: skip


# ---------------------------------------------------------------------------------------------------
# IDX


def read_idx(file: str | Path) -> np.ndarray:
    """An IDX file (gzipped when its name ends in .gz) as a numpy array of its shape and type."""
    file = Path(file)
    try:
        with (gzip.open if file.suffix == ".gz" else open)(file, "rb") as fh:
            raw = fh.read()
    except (gzip.BadGzipFile, EOFError) as e:
        raise DataError(f"{file} is not a readable gzip file ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise DataError(f"{file} is not an IDX file (header {raw[:4].hex()})")
    ndim = raw[3]
    dims = tuple(int(n) for n in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_TYPES[raw[2]])
    body = 4 + 4 * ndim
    if len(raw) - body != int(np.prod(dims)) * dtype.itemsize:
        raise DataError(
            f"{file}: the header says {dims} values of {dtype.itemsize} bytes, the file holds "
            f"{len(raw) - body:,} bytes after it (truncated or not IDX)"
        )
    return np.frombuffer(raw, dtype, offset=body).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(file: str | Path, array: np.ndarray) -> Path:
    """The inverse of read_idx (gzipped when the name ends in .gz), written atomically: small stand-ins for
    tests, or a data set of one's own in MNIST's format."""
    code = {np.dtype(v).newbyteorder("="): k for k, v in IDX_TYPES.items()}.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX holds {sorted(IDX_TYPES.values())}, not {array.dtype}")
    head = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    raw = head + array.astype(IDX_TYPES[code]).tobytes()
    with atomic_path(file) as tmp:
        Path(tmp).write_bytes(gzip.compress(raw) if str(file).endswith(".gz") else raw)
    return Path(file)


def load_idx_images(dataset: str, split: str, data_dir=None) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-layout data set `dataset`'s split ("train" or "test"): uint8 images (N, 28, 28), labels (N,)."""
    images_file, labels_file = MNIST_FILES[split]
    X, y = read_idx(path(dataset, images_file, data_dir)), read_idx(path(dataset, labels_file, data_dir))
    if X.ndim != 3 or y.ndim != 1 or len(X) != len(y):
        raise DataError(f"{dataset} {split}: images {X.shape} and labels {y.shape} do not pair up")
    return X, y.astype(np.int64)


# ---------------------------------------------------------------------------------------------------
# CIFAR-10


class _ArraysOnly(pickle.Unpickler):
    """Builds numpy arrays, dicts, lists, bytes and numbers; refuses every other global."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how pickle protocol 2 writes bytes from Python 3
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise DataError(f"a CIFAR batch wants to build {module}.{name}: not a CIFAR-10 pickle")
        if module == "numpy.core.multiarray":  # numpy 2 moved it; the pickles name the old place
            module = "numpy._core.multiarray"
        return super().find_class(module, name)


def read_cifar_batch(blob: bytes, name: str = "batch") -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch: uint8 images (N, 3, 32, 32) and int64 labels (N,)."""
    try:
        d = _ArraysOnly(io.BytesIO(blob), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as e:
        raise DataError(f"{name} is not a CIFAR-10 python batch ({e})") from None
    if not isinstance(d, dict) or b"data" not in d or b"labels" not in d:
        raise DataError(f"{name} is not a CIFAR-10 python batch (no b'data'/b'labels')")
    X = np.asarray(d[b"data"], dtype=np.uint8)
    y = np.asarray(d[b"labels"], dtype=np.int64)
    if X.ndim != 2 or X.shape[1] != 3 * 32 * 32 or len(X) != len(y):
        raise DataError(f"{name}: data {X.shape} and labels {y.shape} are not CIFAR-10's layout")
    return X.reshape(-1, 3, 32, 32), y  # (N, 3072) -> (N, C, H, W): the planes are stored R, G, B


def read_cifar10(archive: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray] | list[str]]:
    """The whole tar.gz: {"train": (X, y) of the five data batches, "test": (X, y), "classes": names}."""
    out: dict = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:

            def member(n: str) -> bytes:
                f = tar.extractfile(f"cifar-10-batches-py/{n}")
                if f is None:
                    raise KeyError(n)
                return f.read()

            batches = [read_cifar_batch(member(f"data_batch_{i}"), f"data_batch_{i}") for i in range(1, 6)]
            out["test"] = read_cifar_batch(member("test_batch"), "test_batch")
            meta = _ArraysOnly(io.BytesIO(member("batches.meta")), encoding="bytes").load()
    except (tarfile.TarError, KeyError, OSError, EOFError) as e:
        raise DataError(f"{archive} is not the CIFAR-10 python archive ({e})") from None
    out["train"] = tuple(np.concatenate(parts) for parts in zip(*batches, strict=True))
    out["classes"] = [n.decode() for n in meta[b"label_names"]]
    return out


def write_cifar10(archive: str | Path, train, test, classes: list[str]) -> Path:
    """The inverse of read_cifar10: (X uint8 (N, 3, 32, 32), y) pairs into CIFAR-10's tar.gz layout, the
    training images over five batches (tests and small stand-ins; pickle protocol 2, as the original)."""

    def batch(X, y) -> bytes:
        return pickle.dumps(
            {b"data": np.asarray(X, np.uint8).reshape(len(X), -1), b"labels": list(map(int, y))}, 2
        )

    parts = np.array_split(np.arange(len(train[0])), 5)
    blobs = {f"data_batch_{i + 1}": batch(train[0][ix], train[1][ix]) for i, ix in enumerate(parts)}
    blobs["test_batch"] = batch(*test)
    blobs["batches.meta"] = pickle.dumps({b"label_names": [c.encode() for c in classes]}, 2)
    with atomic_path(archive) as tmp, tarfile.open(tmp, "w:gz") as tar:
        for name, blob in blobs.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return Path(archive)


def load_cifar10(data_dir=None) -> dict:
    return read_cifar10(path("cifar10", "cifar-10-python.tar.gz", data_dir))


__all__ = [
    "FASHION_CLASSES", "load_cifar10", "load_idx_images", "read_cifar10", "read_cifar_batch", "read_idx",
    "write_cifar10", "write_idx",
]  # fmt: skip
