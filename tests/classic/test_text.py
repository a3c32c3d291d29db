"""Text preprocessing: the Porter stemmer against NLTK, word tokens against NLTK's wordpunct_tokenize, stop
words and TF-IDF against scikit-learn, multinomial naive Bayes against scikit-learn."""

import itertools
import math
import sys
import unicodedata

import numpy as np
import pytest
from sklearn.feature_extraction import text as sk_text
from sklearn.naive_bayes import MultinomialNB as SkMultinomialNB

from nanozoo.classic import porter
from nanozoo.classic.naive_bayes import MultinomialNB
from nanozoo.classic.text import ENGLISH_STOP_WORDS, TfidfVectorizer, remove_stop_words, word_tokenize


@pytest.fixture(scope="module")
def shakespeare(need_data):
    return need_data("tinyshakespeare", "input.txt").read_text()


@pytest.fixture(scope="module")
def reviews(need_data):
    """The first 400 positive and 400 negative snippets of sentence polarity v1.0, and their labels."""
    pos, neg = (
        need_data("sentiment", f"rt-polarity.{k}").read_text(encoding="latin-1") for k in ("pos", "neg")
    )
    return pos.splitlines()[:400] + neg.splitlines()[:400], np.array([1] * 400 + [0] * 400)


# ---------------------------------------------------------------------------------------------------
# Porter stemmer: the paper's own examples, step by step


def test_measure_examples_from_the_paper():
    for m, words in enumerate([["tr", "ee", "tree", "y", "by"], ["trouble", "oats", "trees", "ivy"]]):
        assert [porter.measure(w) for w in words] == [m] * len(words)
    assert [porter.measure(w) for w in ["troubles", "private", "oaten", "orrery"]] == [2] * 4
    assert porter.ends_cvc("hop") and not porter.ends_cvc("snow") and not porter.ends_cvc("box")
    assert porter.is_consonant("toy", 2) and not porter.is_consonant("syzygy", 1)


PAPER_EXAMPLES = {
    porter.step1a: "caresses caress ponies poni ties ti caress caress cats cat",
    porter.step1b: "feed feed agreed agree plastered plaster bled bled motoring motor sing sing conflated "
    "conflate troubled trouble sized size hopping hop tanned tan falling fall hissing hiss fizzed fizz "
    "failing fail filing file",
    porter.step1c: "happy happi sky sky",
    porter.step2: "relational relate conditional condition rational rational valenci valence hesitanci "
    "hesitance digitizer digitize conformabli conformable radicalli radical differentli different vileli "
    "vile analogousli analogous vietnamization vietnamize predication predicate operator operate "
    "feudalism feudal decisiveness decisive hopefulness hopeful callousness callous formaliti formal "
    "sensitiviti sensitive sensibiliti sensible",
    porter.step3: "triplicate triplic formative form formalize formal electriciti electric electrical "
    "electric hopeful hope goodness good",
    porter.step4: "revival reviv allowance allow inference infer airliner airlin gyroscopic gyroscop "
    "adjustable adjust defensible defens irritant irrit replacement replac adjustment adjust dependent "
    "depend adoption adopt homologou homolog communism commun activate activ angulariti angular "
    "homologous homolog effective effect bowdlerize bowdler",
    porter.step5a: "probate probat rate rate cease ceas",
    porter.step5b: "controll control roll roll",
}


@pytest.mark.parametrize("step", PAPER_EXAMPLES, ids=lambda s: s.__name__)
def test_each_step_on_the_papers_examples(step):
    words = PAPER_EXAMPLES[step].split()
    pairs = list(zip(words[::2], words[1::2], strict=True))
    assert [step(w) for w, _ in pairs] == [want for _, want in pairs]


def test_whole_words():
    got = [porter.stem(w) for w in "Generalizations oscillators relational hopping SKIES".split()]
    assert got == ["gener", "oscil", "relat", "hop", "ski"]


# ---------------------------------------------------------------------------------------------------
# Parity with NLTK


def _distinct_words(text):
    return sorted({t.lower() for t in word_tokenize(text) if t[0].isalnum() or t[0] == "_"})


def test_stemmer_equals_nltk_original_on_every_shakespeare_word(need, shakespeare, reviews):
    stem_mod = need("nltk.stem.porter")
    nltk_porter = stem_mod.PorterStemmer(mode=stem_mod.PorterStemmer.ORIGINAL_ALGORITHM)
    words = _distinct_words(shakespeare + "\n".join(reviews[0]))
    assert len(words) > 12_000  # 11,456 distinct words in Tiny Shakespeare, more from the reviews
    ours, theirs = [porter.stem(w) for w in words], [nltk_porter.stem(w) for w in words]
    mismatches = [(w, a, b) for w, a, b in zip(words, ours, theirs, strict=True) if a != b]
    assert mismatches == []
    # the mode matters: NLTK's default (its extensions) disagrees with the 1980 paper on some of these words
    nltk_default = stem_mod.PorterStemmer()
    assert sum(nltk_default.stem(w) != a for w, a in zip(words, ours, strict=True)) > 10


TORTURE = [
    "",
    "   \t\n ",
    "Good muffins cost $3.88\nin New York.  Please buy me\ntwo of them.\n\nThanks.",
    "can't won't o'er 'tis ne'er-do-well rock'n'roll",
    "e-mail: a.b@c.com, http://x.org/?q=1&r=2 #tag @user",
    "...!?!?;; --- (((nested))) [a][b] {c} <d>",
    "snake_case __dunder__ _lead trail_ 3.14e-10 1,000,000 42nd",
    "naïve café Ærøskøbing Straße İstanbul ǅemal",
    "a²b ½ ³ ¼ x\x1cy\x1dz\x1e\x1f end",
    "日本語のテキスト、句読点。 中文，标点！ 한국어 문장.",
    "emoji 🙂🙃 👩‍💻 ⒶⒷ 🄰🅐 ZWJ\u200dZWNJ\u200c",
    "no-break\xa0space\u2003em\u3000ideographic\u2028line\u2029para\x85nel\u200bzero-width",
    "combining e\u0301 a\u0308 \u0915\u093f arabic \u0627\u0644\u0639\u0631\u0628\u064a\u0629 ١٢٣",
]


def test_tokenizer_equals_nltk_wordpunct(need, shakespeare):
    tokenize = need("nltk.tokenize")
    for text in [*TORTURE, shakespeare]:
        assert word_tokenize(text) == tokenize.wordpunct_tokenize(text), text[:60]


def test_tokenizer_equals_nltk_on_every_assigned_code_point(need):
    tokenize = need("nltk.tokenize")
    # Each character between two letters, so that its class shows: a word character joins them.
    chars = [
        chr(i) for i in range(sys.maxunicode + 1) if unicodedata.category(chr(i)) not in ("Cn", "Cs", "Co")
    ]
    text = "".join("a" + c + "b" for c in chars)
    assert len(chars) > 140_000 and word_tokenize(text) == tokenize.wordpunct_tokenize(text)


def test_tokenizer_worked_example():
    assert word_tokenize("Can't stop, won't stop!!") == [
        "Can",
        "'",
        "t",
        "stop",
        ",",
        "won",
        "'",
        "t",
        "stop",
        "!!",
    ]


# ---------------------------------------------------------------------------------------------------
# Stop words and TF-IDF against scikit-learn


def test_stop_words_equal_sklearn():
    assert ENGLISH_STOP_WORDS == sk_text.ENGLISH_STOP_WORDS and len(ENGLISH_STOP_WORDS) == 318
    assert remove_stop_words("to be or not to be that is the question".split()) == ["question"]


def test_tfidf_worked_example():
    X = TfidfVectorizer().fit_transform(["the cat sat", "the dog"]).toarray()
    idf = 1 + math.log(3 / 2)  # cat, dog, sat: ln((1 + 2) / (1 + 1)) + 1; "the": ln(3 / 3) + 1 = 1
    row0 = np.array([idf, 0.0, idf, 1.0]) / math.sqrt(2 * idf**2 + 1)  # vocabulary: cat dog sat the
    np.testing.assert_allclose(X[0], row0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(X[1], np.array([0, idf, 0, 1.0]) / math.sqrt(idf**2 + 1), rtol=0, atol=1e-15)


OPTIONS = list(itertools.product(["l2", "l1", None], [True, False], [True, False], [True, False]))


@pytest.mark.parametrize(("norm", "use_idf", "smooth_idf", "sublinear_tf"), OPTIONS)
def test_tfidf_equals_sklearn(reviews, norm, use_idf, smooth_idf, sublinear_tf):
    docs = reviews[0]
    opts = dict(norm=norm, use_idf=use_idf, smooth_idf=smooth_idf, sublinear_tf=sublinear_tf)
    ours = TfidfVectorizer(tokenizer=word_tokenize, **opts)
    theirs = sk_text.TfidfVectorizer(tokenizer=word_tokenize, token_pattern=None, lowercase=True, **opts)
    train, test = docs[::2], docs[1::2]  # held-out documents: unseen terms are dropped in both
    A, B = ours.fit_transform(train), theirs.fit_transform(train)
    assert ours.vocabulary_ == theirs.vocabulary_ and A.shape == B.shape
    assert abs(A - B).max() < 1e-9
    assert abs(ours.transform(test) - theirs.transform(test)).max() < 1e-9


# Both drop stop words after the tokenizer, so a stemmed stop word ("abov") stays in both; sklearn warns.
@pytest.mark.filterwarnings("ignore:Your stop_words may be inconsistent")
def test_tfidf_with_stop_words_and_stems_equals_sklearn(reviews):
    def stems(s):
        return [porter.stem(w) for w in word_tokenize(s)]

    ours = TfidfVectorizer(tokenizer=stems, stop_words=ENGLISH_STOP_WORDS, sublinear_tf=True)
    theirs = sk_text.TfidfVectorizer(
        tokenizer=stems, token_pattern=None, stop_words="english", sublinear_tf=True
    )
    A, B = ours.fit_transform(reviews[0]), theirs.fit_transform(reviews[0])
    assert ours.vocabulary_ == theirs.vocabulary_ and abs(A - B).max() < 1e-9


def test_tfidf_refuses_bad_input():
    with pytest.raises(ValueError, match="norm='l3'"):
        TfidfVectorizer(norm="l3")
    with pytest.raises(ValueError, match="not fitted"):
        TfidfVectorizer().transform(["a"])
    with pytest.raises(TypeError, match="must be a str"):
        TfidfVectorizer().fit([b"bytes"])
    with pytest.raises(ValueError, match="no terms"):
        TfidfVectorizer().fit(["   "])


# ---------------------------------------------------------------------------------------------------
# Multinomial naive Bayes against scikit-learn


@pytest.mark.parametrize("alpha", [1.0, 0.1])
def test_naive_bayes_equals_sklearn(reviews, alpha):
    docs, y = reviews
    vec = TfidfVectorizer(sublinear_tf=True)
    X = vec.fit_transform(docs[::2])
    ours, theirs = MultinomialNB(alpha).fit(X, y[::2]), SkMultinomialNB(alpha=alpha).fit(X, y[::2])
    np.testing.assert_allclose(ours.feature_log_prob_, theirs.feature_log_prob_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.class_log_prior_, theirs.class_log_prior_, rtol=0, atol=1e-12)
    Xt = vec.transform(docs[1::2])
    assert (ours.predict(Xt) == theirs.predict(Xt)).all()


def test_naive_bayes_worked_example():
    # two classes, two words; alpha = 1: theta_0 = (3 + 1, 0 + 1) / 5, theta_1 = (0 + 1, 2 + 1) / 4
    m = MultinomialNB(alpha=1.0).fit(np.array([[3.0, 0.0], [0.0, 2.0]]), ["a", "b"])
    np.testing.assert_allclose(np.exp(m.feature_log_prob_), [[0.8, 0.2], [0.25, 0.75]], rtol=1e-12)
    assert list(m.predict([[1.0, 0.0], [0.0, 1.0]])) == ["a", "b"]
    with pytest.raises(ValueError, match="negative"):
        MultinomialNB().fit(np.array([[-1.0]]), [0])
