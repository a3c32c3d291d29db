"""Shared fixtures of the tokenizer tests: the torture list, Tiny Shakespeare (from the data mirror) and
tiktoken's own encodings built offline."""

import pytest

TORTURE = [
    "",
    " ",
    "  ",
    "\n",
    "\n\n\n",
    "\t\t x",
    "   leading and trailing   ",
    "hello world",
    "Hello World!!! ...?",
    "don't you're we'll they've I'M HE'S it'D",
    "12345678901234567890",
    "3.14159 1,000,000 -42 0x1F 2024-01-01",
    "naïve café résumé Ångström İstanbul straße",
    "Привет, мир! Ελληνικά",
    "こんにちは世界",
    "你好，世界！",
    "안녕하세요",
    "مرحبا بالعالم",
    "שָׁלוֹם",
    "नमस्ते दुनिया",
    "🤗🤗🤗 👨‍👩‍👧‍👦 🏳️‍🌈 e\u0301 ",
    "😀" * 20,
    "def f(x):\n    return x ** 2  # comment\n\n\n    pass\n",
    "for (int i = 0; i < n; ++i) { a[i] += 1; }",
    "<html><body>&amp; &lt;tag&gt;</body></html>",
    "\r\n\r\n  \r\n",
    "a\u00a0b\u2009c\u3000d\u200be",
    " " * 50 + "x",
    "x" + "\n" * 10,
    "x" + " " * 7,
    "ＡＢＣ ｆｕｌｌ ｗｉｄｔｈ",
    "\x00\x01\x7f control \x1b[31mred\x1b[0m",
    "a" * 300,
    "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX!",
]


@pytest.fixture(scope="session")
def shakespeare(need_data) -> str:
    return need_data("tinyshakespeare", "input.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def tiktoken_encoding(need, need_data, tmp_path_factory):
    """`tiktoken_encoding("cl100k_base")`: tiktoken's own encoding (its pattern and special tokens), built
    offline from the data mirror by `nanozoo.tokenizers.gpt.tiktoken_encoding`."""
    from nanozoo.tokenizers.gpt import TIKTOKEN_FILES, tiktoken_encoding

    need("tiktoken")
    need("tiktoken_ext.openai_public")
    for dataset, file in TIKTOKEN_FILES.values():
        need_data(dataset, file)
    built = {}

    def encoding(name: str):
        if name not in built:
            with pytest.MonkeyPatch.context() as mp:  # tiktoken keeps a copy of each file it reads
                mp.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path_factory.mktemp("tiktoken-cache")))
                built[name] = tiktoken_encoding(name, download=False)
        return built[name]

    return encoding


@pytest.fixture(scope="session")
def torture() -> list[str]:
    return list(TORTURE)
