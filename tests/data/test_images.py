"""The IDX and CIFAR-10 readers on small files written here, and the catalogue's image data sets."""

import gzip
import hashlib
import io
import pickle
import struct
import tarfile

import numpy as np
import pytest

from nanozoo import data
from nanozoo.data import catalogue
from nanozoo.data.catalogue import DataError, DataFile, Dataset
from nanozoo.data.images import read_cifar10, read_cifar_batch, read_idx, write_cifar10
from nanozoo.data.images import write_idx as idx_writer


def write_idx(path, array: np.ndarray, code: int = 0x08, zipped: bool = True):
    """LeCun's layout by hand: 0, 0, the type code, ndim; one big-endian uint32 per dimension; the values."""
    dtype = {0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[code]
    head = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = head + array.astype(dtype).tobytes()
    path.write_bytes(gzip.compress(raw) if zipped else raw)
    return path


@pytest.mark.parametrize("zipped", [True, False])
def test_idx_images_and_labels_round_trip(tmp_path, zipped):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 4, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, 5).astype(np.uint8)
    got = read_idx(write_idx(tmp_path / ("i.gz" if zipped else "i"), images, zipped=zipped))
    assert got.dtype == np.uint8 and got.shape == (5, 4, 3) and np.array_equal(got, images)
    assert np.array_equal(read_idx(write_idx(tmp_path / "l.gz", labels)), labels)
    floats = rng.standard_normal((2, 3)).astype(np.float32)  # big-endian floats come back native
    assert np.array_equal(read_idx(write_idx(tmp_path / "f.gz", floats, code=0x0D)), floats)
    for a in (images, labels, floats):  # the library's writer gives the same bytes as the hand-made file
        mine = write_idx(tmp_path / "hand", a, code={1: 0x08, 4: 0x0D}[a.itemsize], zipped=False)
        assert idx_writer(tmp_path / "lib", a).read_bytes() == mine.read_bytes()


def test_idx_header_is_checked(tmp_path):
    p = write_idx(tmp_path / "x.gz", np.zeros((3, 2, 2), np.uint8))
    raw = gzip.decompress(p.read_bytes())
    (tmp_path / "short.gz").write_bytes(gzip.compress(raw[:-1]))
    with pytest.raises(DataError, match=r"header says \(3, 2, 2\) .*truncated"):
        read_idx(tmp_path / "short.gz")
    (tmp_path / "bad.gz").write_bytes(gzip.compress(b"\x01\x02" + raw[2:]))
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(tmp_path / "bad.gz")
    (tmp_path / "notgz.gz").write_bytes(raw)
    with pytest.raises(DataError, match="not a readable gzip"):
        read_idx(tmp_path / "notgz.gz")


def cifar_batch(n: int, seed: int) -> tuple[bytes, np.ndarray, list[int]]:
    """One batch as the original: a dict of bytes keys, b"data" (n, 3072) uint8, b"labels" a list."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    y = rng.integers(0, 10, n).tolist()
    return pickle.dumps({b"batch_label": b"x", b"labels": y, b"data": X, b"filenames": []}, protocol=2), X, y


def write_cifar_by_hand(path, n: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A cifar-10-python.tar.gz of the real layout with n images per batch; returns the train (X, y)."""
    Xs, ys = [], []
    with tarfile.open(path, "w:gz") as tar:

        def add(name: str, blob: bytes):
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))

        for i in range(1, 6):
            blob, X, y = cifar_batch(n, i)
            add(f"data_batch_{i}", blob)
            Xs.append(X)
            ys += y
        add("test_batch", cifar_batch(n, 9)[0])
        names = [c.encode() for c in "airplane automobile bird cat deer dog frog horse ship truck".split()]
        add("batches.meta", pickle.dumps({b"label_names": names, b"num_vis": 3072}, protocol=2))
    return np.concatenate(Xs), np.array(ys)


def test_cifar_archive_reads_images_as_channel_planes(tmp_path):
    X, y = write_cifar_by_hand(tmp_path / "cifar-10-python.tar.gz")
    out = read_cifar10(tmp_path / "cifar-10-python.tar.gz")
    Xtr, ytr = out["train"]
    assert Xtr.shape == (20, 3, 32, 32) and Xtr.dtype == np.uint8 and np.array_equal(ytr, y)
    # row k of b"data": 1024 red values, then green, then blue, each plane row by row
    assert Xtr[3, 1, 2, 5] == X[3, 1024 + 2 * 32 + 5]
    assert out["test"][0].shape == (4, 3, 32, 32) and out["classes"][0] == "airplane"
    again = write_cifar10(tmp_path / "again.tar.gz", out["train"], out["test"], out["classes"])
    back = read_cifar10(again)  # the writer is the reader's inverse
    assert all(np.array_equal(a, b) for k in ("train", "test") for a, b in zip(back[k], out[k], strict=True))
    assert back["classes"] == out["classes"]


def test_cifar_reader_refuses_pickles_that_build_other_objects(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with pytest.raises(DataError, match="builtins.print"):
        read_cifar_batch(pickle.dumps({b"data": Evil(), b"labels": []}), "evil")
    with pytest.raises(DataError, match="not a CIFAR-10 python batch"):
        read_cifar_batch(pickle.dumps({b"x": 1}), "other")
    (tmp_path / "c.tar.gz").write_bytes(b"not a tar")
    with pytest.raises(DataError, match="not the CIFAR-10 python archive"):
        read_cifar10(tmp_path / "c.tar.gz")


def test_a_repackaged_copy_is_accepted_and_others_refused(monkeypatch, tmp_path):
    upstream, debian = b"upstream bytes", b"the same, re-gzipped"
    f = DataFile(
        "x.gz",
        hashlib.sha256(upstream).hexdigest(),
        len(upstream),
        "http://127.0.0.1:9/x.gz",
        repacks=((len(debian), hashlib.sha256(debian).hexdigest()),),
    )
    ds = Dataset("toyimg", "toy", "public", (f,), system_dirs=(str(tmp_path / "sys"),))
    monkeypatch.setitem(catalogue.CATALOGUE, "toyimg", ds)
    monkeypatch.setenv("NANOZOO_CACHE", str(tmp_path / "cache"))
    catalogue._verified.clear()
    (tmp_path / "sys").mkdir()
    (tmp_path / "sys" / "x.gz").write_bytes(debian)
    assert data.path("toyimg", "x.gz") == tmp_path / "sys" / "x.gz"
    (tmp_path / "sys" / "x.gz").write_bytes(debian[::-1])  # the repack's size, another content
    catalogue._verified.clear()
    with pytest.raises(DataError, match="sha256"):
        data.path("toyimg", "x.gz")


def test_fashion_mnist_is_known_in_the_debian_folder():
    ds = catalogue.get("fashion-mnist")
    assert "/usr/share/datasets/fashion-mnist" in ds.system_dirs
    assert {f.name for f in ds.files} == {f.name for f in catalogue.get("mnist").files}
    assert all(
        f.url.startswith("http") and len(f.sha256) == 64
        for d in ("mnist", "cifar10")
        for f in catalogue.get(d).files
    )


def test_fashion_mnist_test_set_reads(need_data):
    need_data("fashion-mnist", "t10k-images-idx3-ubyte.gz")  # make installs it (apt) where it can
    from nanozoo.data.images import load_idx_images

    X, y = load_idx_images("fashion-mnist", "test")
    assert X.shape == (10000, 28, 28) and X.dtype == np.uint8
    assert np.bincount(y).tolist() == [1000] * 10  # balanced, as published


def test_mnist_test_set_and_training_labels_read_from_the_mirror(need_data):
    # the mirror holds every MNIST file but the training images (../shared/datasets/SOURCES.md), so the
    # catalogue's sha256s and sizes of these three are checked on the real files (path() verifies them)
    need_data("mnist", "t10k-images-idx3-ubyte.gz")
    from nanozoo.data.images import load_idx_images

    X, y = load_idx_images("mnist", "test")
    assert X.shape == (10000, 28, 28) and X.dtype == np.uint8
    assert np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # as published
    train_labels = read_idx(data.path("mnist", "train-labels-idx1-ubyte.gz"))
    assert np.bincount(train_labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
