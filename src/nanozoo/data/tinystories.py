"""TinyStories (Eldan & Li 2023) as llama2.c trains on it: short stories a 3-year-old understands, written by
GPT-3.5 and GPT-4, in the archive `TinyStories_all_data.tar.gz` (1.6 GB: 50 JSON shards `data00.json` ..
`data49.json`, each a list of records whose "story" is the text).

llama2.c's recipe, kept here: every story is stripped and encoded with a BOS token in front (no EOS), the
ids of a shard are written as one flat uint16 file, shard 0 is the validation split and shards 1..49 train;
a batch is random windows of block_size + 1 tokens. The encoder is passed in (data sits below the
tokenizers), so the same pretokenizer serves Llama 2's 32000-piece vocabulary and a small one of our own.
"""

from __future__ import annotations

import json
import tarfile
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

from nanozoo.core.atomic import atomic_path
from nanozoo.data.catalogue import DataError, cache_dir, path

ARCHIVE = "TinyStories_all_data.tar.gz"


def read_shards(archive: str | Path, skip: Callable[[str], bool] = lambda name: False):
    """(name, stripped stories) of each JSON shard, in archive order, in one pass over the gzip stream (a
    member of a .tar.gz cannot be reached without reading the ones before it); `skip(name)`: not parsed."""
    found = False
    try:
        with tarfile.open(archive, "r|gz") as tar:
            for member in tar:
                if not (member.isfile() and member.name.endswith(".json")):
                    continue
                found = True
                if not skip(member.name):
                    yield member.name, _stories(json.load(tar.extractfile(member)), member.name)
    except (tarfile.TarError, OSError, EOFError, json.JSONDecodeError) as e:
        raise DataError(f"{archive} is not the TinyStories archive ({e})") from None
    if not found:
        raise DataError(f"{archive} holds no .json shard: not the TinyStories archive")


def _stories(records, where: str) -> list[str]:
    if not isinstance(records, list) or not all(isinstance(r, dict) and "story" in r for r in records):
        raise DataError(f"TinyStories shard {where} is not a list of records with a 'story'")
    return [r["story"].strip() for r in records]


def sample_stories(archive: str | Path, n: int) -> list[str]:
    """The first `n` stories of the training shards (shard 0 validates), to train a vocabulary on."""
    out: list[str] = []
    for _, texts in read_shards(archive, skip=lambda name: name.endswith("00.json")):
        out += texts[: n - len(out)]
        if len(out) >= n:
            break
    return out


Encode = Callable[[str], list[int]]  # a story -> its ids, BOS first (a picklable callable, for workers)


def _encode_all(texts: list[str], encode: Encode) -> np.ndarray:
    ids = [i for text in texts for i in encode(text)]
    if ids and max(ids) >= 2**16:
        raise DataError(f"token id {max(ids)} does not fit the uint16 shards: vocabulary over 65,536")
    return np.asarray(ids, dtype=np.uint16)


def _write(ids: np.ndarray, out: Path) -> None:
    with atomic_path(out) as tmp:
        ids.tofile(tmp)


def pretokenize(archive: str | Path, encode: Encode, out_dir: str | Path, workers: int = 1) -> list[Path]:
    """Each shard's ids into `out_dir/dataNN.bin` (uint16), written atomically; a shard already written is
    kept, so an interrupted run resumes where it stopped. `workers` > 1 encodes shards in processes while
    the archive is read (at most `workers` shards in memory). Returns the files in shard order."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    def target(name: str) -> Path:
        return out_dir / (Path(name).stem + ".bin")

    shards = read_shards(archive, skip=lambda name: target(name).is_file())
    if workers <= 1:
        for name, texts in shards:
            _write(_encode_all(texts, encode), target(name))
    else:
        with ProcessPoolExecutor(workers) as pool:
            pending: deque = deque()
            for name, texts in shards:
                pending.append((target(name), pool.submit(_encode_all, texts, encode)))
                while len(pending) > workers:
                    out, job = pending.popleft()
                    _write(job.result(), out)
            for out, job in pending:
                _write(job.result(), out)
    return sorted(out_dir.glob("data*.bin"))


class TokenShards:
    """The pretokenized shards of one split, memory-mapped: random windows without loading 500M tokens."""

    def __init__(self, files: list[Path], min_len: int):
        self.shards = [np.memmap(f, dtype=np.uint16, mode="r") for f in files]
        self.shards = [s for s in self.shards if len(s) > min_len]
        if not self.shards:
            raise DataError(f"no shard of {[str(f) for f in files]} is longer than {min_len} tokens")
        self.sizes = torch.tensor([len(s) for s in self.shards], dtype=torch.float64)

    def windows(self, batch_size: int, block_size: int, gen: torch.Generator):
        """(x, y) of shape (B, T): a shard drawn in proportion to its tokens, then an offset in it."""
        which = torch.multinomial(self.sizes, batch_size, replacement=True, generator=gen).tolist()
        rows = []
        for k in which:
            shard = self.shards[k]
            i = int(torch.randint(len(shard) - block_size, (1,), generator=gen))
            rows.append(torch.from_numpy(shard[i : i + block_size + 1].astype(np.int64)))
        chunk = torch.stack(rows)  # (B, T + 1)
        return chunk[:, :-1], chunk[:, 1:]


def splits(files: list[Path], block_size: int) -> dict[str, TokenShards]:
    """llama2.c's split: the first shard validates, the others train (a one-shard archive: both)."""
    return {
        "train": TokenShards(files[1:] or files, block_size),
        "val": TokenShards(files[:1], block_size),
    }


def write_archive(path: str | Path, shards: list[list[str]]) -> Path:
    """The inverse of `read_shards`: stories into an archive of the real layout (dataNN.json, lists of
    records with a "story"), for tests and small stand-ins."""
    import io

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, tarfile.open(tmp, "w:gz") as tar:
        for k, texts in enumerate(shards):
            blob = json.dumps([{"story": t, "source": "GPT-4"} for t in texts]).encode()
            info = tarfile.TarInfo(f"data{k:02d}.json")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return path


def archive_path(data_dir: str | Path | None = None) -> Path:
    return path("tinystories", ARCHIVE, data_dir)


def token_dir(tag: str) -> Path:
    """Where the pretokenized shards of one vocabulary live (the user cache: made once, reused)."""
    return cache_dir() / "tinystories" / f"tok-{tag}"


__all__ = [
    "ARCHIVE",
    "TokenShards",
    "archive_path",
    "pretokenize",
    "read_shards",
    "sample_stories",
    "splits",
    "token_dir",
    "write_archive",
]
