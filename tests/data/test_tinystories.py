"""TinyStories as llama2.c reads it, on small archives of the real format (the 1.6 GB one is not mirrored)."""

import io
import json
import tarfile

import numpy as np
import pytest
import torch

from nanozoo.data import DataError, tinystories
from nanozoo.data.tinystories import write_archive

STORIES = [
    ["Once upon a time, there was a cat.", "  Tim saw a big red ball.  ", "Lily liked the sun."],
    ["The dog ran fast. It was happy!", "Sue and Max played in the park."],
    ["A bird sang a song.", 'Mom said, "Let\'s go home."', "They ate cake. 🎂"],
]


def encode(text):  # a stand-in tokenizer: BOS 1, then one id per character
    return [1] + [ord(c) % 1000 + 3 for c in text]


def test_shards_are_read_in_order_and_stripped(tmp_path):
    archive = write_archive(tmp_path / "a.tar.gz", STORIES)
    got = list(tinystories.read_shards(archive))
    assert [n for n, _ in got] == ["data00.json", "data01.json", "data02.json"]
    assert got[0][1][1] == "Tim saw a big red ball."  # stripped, as llama2.c does
    assert tinystories.sample_stories(archive, 3) == [s.strip() for s in STORIES[1] + STORIES[2][:1]]


def test_pretokenize_writes_bos_and_ids_per_shard_and_resumes(tmp_path):
    archive = write_archive(tmp_path / "a.tar.gz", STORIES)
    out = tmp_path / "tok"
    files = tinystories.pretokenize(archive, encode, out)
    assert [f.name for f in files] == ["data00.bin", "data01.bin", "data02.bin"]
    for f, texts in zip(files, STORIES, strict=True):
        want = [i for t in texts for i in encode(t.strip())]
        assert np.fromfile(f, dtype=np.uint16).tolist() == want
    # a finished shard is kept (resume); a missing one is written again, the same
    before = files[0].stat().st_mtime_ns, files[2].read_bytes()
    files[2].unlink()
    again = tinystories.pretokenize(archive, lambda t: pytest.fail("data00 was encoded again") if "cat" in t
                                    else encode(t), out)  # fmt: skip
    assert again == files and files[0].stat().st_mtime_ns == before[0] and files[2].read_bytes() == before[1]


def test_workers_give_the_same_shards(tmp_path):
    archive = write_archive(tmp_path / "a.tar.gz", STORIES)
    one = tinystories.pretokenize(archive, encode, tmp_path / "one")
    two = tinystories.pretokenize(archive, encode, tmp_path / "two", workers=2)
    assert [f.read_bytes() for f in one] == [f.read_bytes() for f in two]


def test_windows_are_shifted_slices_of_one_shard_and_the_split_is_llama2cs(tmp_path):
    archive = write_archive(tmp_path / "a.tar.gz", STORIES)
    files = tinystories.pretokenize(archive, encode, tmp_path / "tok")
    splits = tinystories.splits(files, block_size=8)
    val = np.fromfile(files[0], dtype=np.uint16).tolist()
    x, y = splits["val"].windows(5, 8, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (5, 8) and x.dtype == torch.long
    assert torch.equal(x[:, 1:], y[:, :-1])
    text = ",".join(map(str, val))
    assert all(",".join(map(str, row.tolist() + [int(y[k, -1])])) in text for k, row in enumerate(x))
    a = splits["train"].windows(4, 8, torch.Generator().manual_seed(1))
    b = splits["train"].windows(4, 8, torch.Generator().manual_seed(1))
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))  # the generator decides everything
    train = {tuple(np.fromfile(f, dtype=np.uint16).tolist()) for f in files[1:]}
    assert len(splits["train"].shards) == 2 and tuple(splits["val"].shards[0].tolist()) not in train


def test_bad_archives_are_data_errors(tmp_path):
    (tmp_path / "x.tar.gz").write_bytes(b"not a tarball")
    with pytest.raises(DataError, match="not the TinyStories archive"):
        list(tinystories.read_shards(tmp_path / "x.tar.gz"))
    empty = write_archive(tmp_path / "e.tar.gz", shards=[])
    with pytest.raises(DataError, match="no .json shard"):
        list(tinystories.read_shards(empty))
    with tarfile.open(tmp_path / "b.tar.gz", "w:gz") as tar:
        blob = json.dumps({"story": "not a list"}).encode()
        info = tarfile.TarInfo("data00.json")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    with pytest.raises(DataError, match="not a list of records"):
        list(tinystories.read_shards(tmp_path / "b.tar.gz"))
    with pytest.raises(DataError, match="uint16"):
        tinystories.pretokenize(
            write_archive(tmp_path / "c.tar.gz", STORIES), lambda t: [70000], tmp_path / "tok"
        )


def test_the_catalogue_pins_the_real_archive():
    from nanozoo.data import get

    f = get("tinystories").file(tinystories.ARCHIVE)
    assert f.size == 1_608_001_638 and len(f.sha256) == 64
    assert "f54c09fd23315a6f9c86f9dc80f725de7d8f9c64" in f.url  # a fixed dataset revision, not `main`
