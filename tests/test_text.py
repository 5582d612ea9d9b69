"""The title tokenizer and the GloVe lookup rule (course_lib.text), issue 12 item 4."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_lib.datasets import WordVectors
from course_lib.pretrained import build_embedding_matrix
from course_lib.text import fold_accents, glove_form, title_words


@pytest.mark.parametrize(
    ("title", "words"),
    [
        ("Café au lait (Métisse)", ["café", "au", "lait", "métisse"]),
        ("Amélie", ["amélie"]),
        ("Misérables, Les", ["misérables", "les"]),
        ("Á köldum klaka (Cold Fever)", ["á", "köldum", "klaka", "cold", "fever"]),
        ("Schindler's List", ["schindler", "list"]),
        ("Schindler\u2019s List", ["schindler", "list"]),  # typographic apostrophe
        ("Shawshank Redemption, The", ["shawshank", "redemption", "the"]),
        ("Star Wars: Episode IV - A New Hope", ["star", "wars", "episode", "iv", "a", "new", "hope"]),
        ("101 Dalmatians", ["101", "dalmatians"]),
        ("Alien³", ["alien"]),  # a superscript is not a decimal digit: it separates, as before
        ("Kjærlighetens kjøtere", ["kjærlighetens", "kjøtere"]),
        ("Москва слезам не верит", ["москва", "слезам", "не", "верит"]),
        ("", []),
        ("!!! ...", []),
    ],
)
def test_title_words_keeps_accented_letters(title, words):
    assert title_words(title) == words


def test_title_words_same_for_composed_and_decomposed_input():
    composed = "Cérémonie, La"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert title_words(decomposed) == title_words(composed) == ["cérémonie", "la"]


def test_amelie_no_longer_looks_up_lie():
    assert "lie" not in title_words("Amélie")
    assert title_words("Amélie") == ["amélie"]


@pytest.mark.parametrize("bad", [None, 3, 1.5, b"Toy Story", ["Toy Story"]])
def test_title_words_refuses_non_strings(bad):
    with pytest.raises(TypeError, match="expected a str"):
        title_words(bad)


@given(st.text() | st.from_regex(r"[a-zA-Zé' ]{0,12}", fullmatch=True))
def test_title_words_drops_no_letter(text):
    # Property: every letter and decimal digit of the (NFC, lower-cased) title, possessive 's
    # aside, is in some word; words never hold a separator.
    words = title_words(text)
    normal = re.sub(r"['\u2019]s\b", "", unicodedata.normalize("NFC", text).lower())
    kept = "".join(c for c in normal if c.isalpha() or c.isdecimal() or unicodedata.category(c)[0] == "M")
    assert "".join(words) == kept
    assert all(word and not any(c.isspace() or c in ",.:;()!?-/'&" for c in word) for word in words)


def test_ml100k_titles_that_change(ml100k):
    # The former tokenizer kept [a-z0-9] only. Exactly 9 ml-100k titles have non-ASCII letters,
    # and each of those now keeps its accented words whole.
    def ascii_only(title):
        return re.findall(r"[a-z0-9]+", re.sub(r"'s\b", "", title.lower()))

    changed = sorted(t for t in ml100k.movies.title if ascii_only(t) != title_words(t))
    assert len(changed) == 9
    assert changed == sorted(t for t in ml100k.movies.title if not t.isascii())
    assert title_words("Metisse (Café au Lait)") in [title_words(t) for t in changed]


@pytest.mark.parametrize(
    ("word", "folded"),
    [("amélie", "amelie"), ("déjà", "deja"), ("Á", "A"), ("naïve", "naive"), ("ø", "ø"), ("æ", "æ"), ("³", "3"),
     ("plain", "plain")],
)
def test_fold_accents(word, folded):
    assert fold_accents(word) == folded


def test_glove_form_prefers_the_word_as_written():
    assert glove_form("café", {"café", "cafe"}) == "café"
    assert glove_form("café", {"cafe"}) == "cafe"
    assert glove_form("amélie", {"amelie", "lie"}) == "amelie"
    assert glove_form("amélie", {"lie"}) is None
    assert glove_form("cafe", {"café"}) is None  # folding never adds accents
    with pytest.raises(TypeError, match="expected a str"):
        glove_form(None, {"a"})
    with pytest.raises(TypeError, match="expected a str"):
        fold_accents(7)


def test_glove_form_on_the_committed_subset(glove_subset):
    # The committed subset was built with the ASCII-only tokenizer: it holds no accented word,
    # so accented title words are found through their folded form, or not at all.
    assert not [w for w in glove_subset.words if any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", w))]
    assert glove_form("café", glove_subset) == "cafe"
    assert glove_form("véronique", glove_subset) == "veronique"
    assert glove_form("xyzzyé", glove_subset) is None


def test_build_embedding_matrix_uses_the_folded_form():
    vectors = WordVectors(["cafe", "lait", "lie"], np.eye(3, dtype=np.float32), {"cafe": 0, "lait": 1, "lie": 2})
    matrix, found = build_embedding_matrix(["", "[UNK]", "café", "lait", "amélie"], vectors)
    assert found.tolist() == [False, False, True, True, False]
    np.testing.assert_array_equal(matrix[2], vectors["cafe"])
    assert not matrix[4].any()  # "amélie" is not "lie"


@pytest.fixture(scope="module")
def ml100k():
    from course_lib.datasets import load_movielens

    return load_movielens("100k")


@pytest.fixture(scope="module")
def glove_subset():
    from course_lib.datasets import load_glove

    return load_glove()
