"""The Porter stemmer: the original 1980 algorithm, step by step as in the paper.

Reference: M.F. Porter, "An algorithm for suffix stripping", Program 14(3), 130-137 (1980). Tested equal to
NLTK's `PorterStemmer(mode=PorterStemmer.ORIGINAL_ALGORITHM)` on every distinct word of Tiny Shakespeare
(tests/classic/test_text.py). NLTK's default mode adds its own extensions (e.g. "dying" -> "die"); Porter's
later revisions (BLI -> BLE instead of ABLI -> ABLE, LOGI -> LOG) are not part of the 1980 paper either.

Definitions (paper, section 2). A consonant is a letter other than a, e, i, o, u, and other than a y that
follows a consonant. Writing C for a run of consonants and V for a run of vowels, every word is
[C](VC)^m[V]; m is its *measure*. A rule `(condition) S1 -> S2` replaces the suffix S1 by S2 when the stem
left after removing S1 satisfies the condition:
    m > k   the stem's measure          *v*  the stem contains a vowel
    *d      it ends in a double consonant  *o  it ends consonant-vowel-consonant, the last not w, x or y
    *S      it ends in the letter S (likewise for other letters)
Within a step only the rule with the longest matching S1 is tried: if its condition fails, the step leaves
the word alone (the rule lists below are ordered so that the first suffix that matches is the longest).
"""

from __future__ import annotations

from collections.abc import Callable

VOWELS = frozenset("aeiou")

# ---------------------------------------------------------------------------------------------------
# The conditions


def is_consonant(word: str, i: int) -> bool:
    """Is word[i] a consonant? A y is, at the start or after a vowel ("toy"; not the 1st y of "syzygy")."""
    if word[i] in VOWELS:
        return False
    if word[i] == "y":
        return i == 0 or not is_consonant(word, i - 1)
    return True


def measure(stem: str) -> int:
    """m in [C](VC)^m[V]: the number of vowel-run -> consonant-run changes ("trouble" 1, "troubles" 2)."""
    cv = "".join("c" if is_consonant(stem, i) else "v" for i in range(len(stem)))
    return sum(1 for i in range(1, len(cv)) if cv[i - 1] == "v" and cv[i] == "c")


def has_vowel(stem: str) -> bool:  # *v*
    return any(not is_consonant(stem, i) for i in range(len(stem)))


def ends_double_consonant(stem: str) -> bool:  # *d
    return len(stem) >= 2 and stem[-1] == stem[-2] and is_consonant(stem, len(stem) - 1)


def ends_cvc(stem: str) -> bool:  # *o: "hop", "fil", but not "snow", "box", "tray"
    n = len(stem)
    return (
        n >= 3
        and is_consonant(stem, n - 3)
        and not is_consonant(stem, n - 2)
        and is_consonant(stem, n - 1)
        and stem[-1] not in "wxy"
    )


def m_gt(k: int) -> Callable[[str], bool]:
    return lambda stem: measure(stem) > k


Rule = tuple[str, str, Callable[[str], bool] | None]  # (S1, S2, condition on the stem or None)


def apply_rules(word: str, rules: list[Rule]) -> str:
    """The first rule whose suffix matches decides: replaced if its condition holds, else the word as is."""
    for suffix, replacement, condition in rules:
        if word.endswith(suffix):
            stem = word[: len(word) - len(suffix)]
            return stem + replacement if condition is None or condition(stem) else word
    return word


# ---------------------------------------------------------------------------------------------------
# The steps (paper, section 3); each takes and returns a lowercase word

### BEGIN SOLUTION
STEP_1A: list[Rule] = [("sses", "ss", None), ("ies", "i", None), ("ss", "ss", None), ("s", "", None)]
STEP_2: list[Rule] = [
    (s1, s2, m_gt(0))
    for s1, s2 in [
        ("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("izer", "ize"),
        ("abli", "able"), ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous"),
        ("ization", "ize"), ("ation", "ate"), ("ator", "ate"), ("alism", "al"), ("iveness", "ive"),
        ("fulness", "ful"), ("ousness", "ous"), ("aliti", "al"), ("iviti", "ive"), ("biliti", "ble"),
    ]
]  # fmt: skip
STEP_3: list[Rule] = [
    (s1, s2, m_gt(0))
    for s1, s2 in [
        ("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"), ("ful", ""),
        ("ness", ""),
    ]
]  # fmt: skip
STEP_4: list[Rule] = [
    (s1, "", (lambda stem: measure(stem) > 1 and stem[-1] in "st") if s1 == "ion" else m_gt(1))
    for s1 in [
        "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion", "ou",
        "ism", "ate", "iti", "ous", "ive", "ize",
    ]
]  # fmt: skip


def step1a(word: str) -> str:  # plurals: caresses -> caress, ponies -> poni, cats -> cat
    return apply_rules(word, STEP_1A)


def step1b(word: str) -> str:
    """(m>0) EED -> EE; (*v*) ED -> ; (*v*) ING -> ; after ED or ING, tidy up: hopp -> hop, hop -> hope."""
    if word.endswith("eed"):
        return word[:-1] if measure(word[:-3]) > 0 else word  # agreed -> agree, feed -> feed
    for suffix in ("ed", "ing"):
        if word.endswith(suffix) and has_vowel(word[: -len(suffix)]):
            stem = word[: -len(suffix)]
            break
    else:
        return word  # "sing", "bled": no vowel before the suffix
    if stem.endswith(("at", "bl", "iz")):  # conflat(ed) -> conflate, troubl(ed) -> trouble, siz(ed) -> size
        return stem + "e"
    if ends_double_consonant(stem):  # (*d and not (*L or *S or *Z)) -> single letter
        return stem if stem[-1] in "lsz" else stem[:-1]  # fall(ing) -> fall, hopp(ing) -> hop
    if measure(stem) == 1 and ends_cvc(stem):  # (m=1 and *o) -> E: fil(ing) -> file
        return stem + "e"
    return stem


def step1c(word: str) -> str:  # (*v*) Y -> I: happy -> happi, sky -> sky
    return apply_rules(word, [("y", "i", has_vowel)])


def step2(word: str) -> str:  # (m>0) double suffixes to single ones: relational -> relate
    return apply_rules(word, STEP_2)


def step3(word: str) -> str:  # (m>0) -ic-, -full, -ness...: electrical -> electric, hopeful -> hope
    return apply_rules(word, STEP_3)


def step4(word: str) -> str:  # (m>1) strip the suffix: revival -> reviv, adoption -> adopt
    return apply_rules(word, STEP_4)


def step5a(word: str) -> str:  # (m>1) E -> ; (m=1 and not *o) E -> : probate -> probat, rate -> rate
    if word.endswith("e"):
        m = measure(word[:-1])
        if m > 1 or (m == 1 and not ends_cvc(word[:-1])):
            return word[:-1]
    return word


def step5b(word: str) -> str:  # (m>1 and *d and *L) -> single letter: controll -> control, roll -> roll
    return word[:-1] if word.endswith("ll") and measure(word[:-1]) > 1 else word


### END SOLUTION

STEPS = (step1a, step1b, step1c, step2, step3, step4, step5a, step5b)


def stem(word: str) -> str:
    """The Porter stem of `word`, lowercased first (the paper's rules are written for lowercase letters)."""
    word = word.lower()
    for step in STEPS:
        word = step(word)
    return word
