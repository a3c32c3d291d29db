"""CoNLL-2003 NER files: one `token POS chunk NER` line per token, a blank line between sentences and
`-DOCSTART-` lines between documents (dropped here). The tags are IOB1 (SOURCES.md)."""

from __future__ import annotations

from pathlib import Path


def read_conll(path: str | Path) -> list[tuple[list[str], list[str]]]:
    """(tokens, NER tags) of every sentence of a CoNLL-2003 file."""
    out: list[tuple[list[str], list[str]]] = []
    words: list[str] = []
    tags: list[str] = []
    for line in [*Path(path).read_text(encoding="utf-8").split("\n"), ""]:
        if not line.strip() or line.startswith("-DOCSTART-"):
            if words:
                out.append((words, tags))
                words, tags = [], []
            continue
        cols = line.split()
        words.append(cols[0])
        tags.append(cols[-1])
    return out


__all__ = ["read_conll"]
