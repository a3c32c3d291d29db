"""Parallel corpora for translation: sentence pairs (source, target) as plain strings.

- `multi30k`: Multi30k task 1 (Elliott et al. 2016), English-German captions of Flickr30K images: train
  29,000, val 1,014, test2016 1,000 (the usual "test"), test2017 1,000, mscoco2017 461, test2018 1,071.
- `tatoeba`: the manythings.org Anki export of Tatoeba English-French pairs (142,787 lines
  `English<TAB>French`). It has no official split: `split_by_source` makes one in which every English
  sentence (some have several translations) falls into one split only, so no test source was trained on.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile
from pathlib import Path

from nanozoo.data.catalogue import DataError, path

MULTI30K_FILES = {  # split -> file stem
    "train": "train",
    "val": "val",
    "test": "test_2016_flickr",
    "test2017": "test_2017_flickr",
    "mscoco2017": "test_2017_mscoco",
    "test2018": "test_2018_flickr",
}


def _lines(p: Path, data: bytes) -> list[str]:
    try:
        return data.decode("utf-8").rstrip("\n").split("\n")
    except UnicodeDecodeError as e:
        raise DataError(f"{p} is not UTF-8 text ({e.reason} at byte {e.start})") from None


def multi30k(split: str, src: str = "en", tgt: str = "de", data_dir=None) -> list[tuple[str, str]]:
    """The aligned (src, tgt) sentences of one Multi30k split (`MULTI30K_FILES`), languages en or de."""
    if split not in MULTI30K_FILES:
        raise DataError(f"multi30k has no split {split!r}; splits: {', '.join(MULTI30K_FILES)}")
    sides = []
    for lang in (src, tgt):
        if lang not in ("en", "de"):
            raise DataError(f"multi30k language {lang!r}: the files here are en and de")
        p = path("multi30k", f"{MULTI30K_FILES[split]}.{lang}.gz", data_dir)
        sides.append([s.strip() for s in _lines(p, gzip.decompress(p.read_bytes()))])
    if len(sides[0]) != len(sides[1]):
        raise DataError(f"multi30k {split}: {len(sides[0])} {src} lines but {len(sides[1])} {tgt} lines")
    return list(zip(*sides, strict=True))


def tatoeba(data_dir=None) -> list[tuple[str, str]]:
    """Every (English, French) pair of the Tatoeba export, in file order."""
    p = path("tatoeba", "fra-eng.zip", data_dir)
    with zipfile.ZipFile(p) as z, z.open("fra.txt") as f:
        text = io.TextIOWrapper(f, encoding="utf-8").read()
    pairs = []
    for n, line in enumerate(text.rstrip("\n").split("\n"), 1):
        cols = line.split("\t")
        if len(cols) < 2:
            raise DataError(f"{p}: fra.txt line {n} has no tab: {line[:60]!r}")
        pairs.append((cols[0].strip(), cols[1].strip()))
    return pairs


def split_by_source(
    pairs: list[tuple[str, str]], val_fraction: float, test_fraction: float
) -> dict[str, list[tuple[str, str]]]:
    """train/val/test by a hash of the source sentence: deterministic, independent of file order, and
    all translations of one source land in the same split."""
    out: dict[str, list[tuple[str, str]]] = {"train": [], "val": [], "test": []}
    for pair in pairs:
        u = int.from_bytes(hashlib.blake2b(pair[0].encode(), digest_size=8).digest()) / 2**64  # [0, 1)
        out["test" if u < test_fraction else "val" if u < test_fraction + val_fraction else "train"].append(
            pair
        )
    return out


__all__ = ["MULTI30K_FILES", "multi30k", "split_by_source", "tatoeba"]
