"""The one tokenizer the course uses for movie titles, and the one rule for finding a word's GloVe vector.

Used by lessons 02 and 03, ``course_lib.pretrained.build_embedding_matrix`` and
``tools/build_glove_subset.py``.

Policy (issue 12):

* :func:`title_words` keeps accented letters inside their words, whatever the Unicode form of
  the title: ``"Café au lait (Métisse)"`` gives ``café, au, lait, métisse``. It never folds
  accents, so a lesson's vocabulary shows the words as the titles spell them.
* :func:`glove_form` decides which entry of a vocabulary (GloVe) holds a word's vector: the word
  as written if the vocabulary has it, otherwise its accent-folded form (:func:`fold_accents`,
  ``"amélie"`` -> ``"amelie"``), otherwise none. GloVe 6B is lower-cased and keeps accents
  (it was trained on Wikipedia and Gigaword text as written), so a frequent accented word has its
  own vector and is used first; a rarer one is often present only without its accents, in the
  English spelling ("cafe", "veronique"), and folding finds that vector instead of declaring
  the word out of vocabulary. The committed 50-d subset was built with the former,
  ASCII-only tokenizer and holds no accented word, so with it every accented title word is
  found through its folded form or not at all.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container

# A possessive 's (straight or typographic apostrophe) ending a word: "Schindler's" -> "Schindler".
_POSSESSIVE = re.compile(r"['\u2019]s\b")


def _is_word_character(character: str) -> bool:
    # Letters (Unicode categories L*), combining marks (M*, e.g. an accent left uncombined) and
    # decimal digits (Nd). Everything else, including "³" and "½" (category No), separates words.
    return character.isalpha() or character.isdecimal() or unicodedata.category(character)[0] == "M"


def title_words(title: str) -> list[str]:
    """Lower-case words of a movie title, accents kept.

    The title is first put in Unicode normal form NFC (so ``"e" + combining acute`` and
    ``"é"`` give the same word), then lower-cased. A possessive ``'s`` (or ``’s``) is dropped.
    Letters (any script, accented or not), combining marks and the decimal digits 0-9 (in any
    script) form words; every other character separates words.

    Args:
        title: one title, e.g. ``"Amélie"`` (``str``).

    Returns:
        list of ``str``, in title order, possibly empty (``"!!!"`` gives ``[]``).

    Raises:
        TypeError: ``title`` is not a ``str`` (the message names the type received).

    >>> title_words("Schindler's List")
    ['schindler', 'list']
    >>> title_words("Shawshank Redemption, The")
    ['shawshank', 'redemption', 'the']
    >>> title_words("Metisse (Café au Lait)")
    ['metisse', 'café', 'au', 'lait']
    """
    if not isinstance(title, str):
        raise TypeError(f"title_words(title={title!r}): expected a str, got {type(title).__name__}; pass one title")
    text = _POSSESSIVE.sub("", unicodedata.normalize("NFC", title).lower())
    return "".join(c if _is_word_character(c) else " " for c in text).split()


def fold_accents(word: str) -> str:
    """``word`` without its accents: ``"amélie"`` -> ``"amelie"``, ``"Á"`` -> ``"A"``.

    Method: Unicode compatibility decomposition (NFKD), then every combining mark is dropped,
    then the result is recomposed (NFC). Letters that are not a base letter plus an accent stay
    as they are (``"ø"``, ``"æ"``, ``"ß"``), and compatibility characters become their plain
    form (``"³"`` -> ``"3"``). Case is unchanged.

    Raises:
        TypeError: ``word`` is not a ``str``.

    >>> fold_accents("déjà")
    'deja'
    """
    if not isinstance(word, str):
        raise TypeError(f"fold_accents(word={word!r}): expected a str, got {type(word).__name__}")
    decomposed = unicodedata.normalize("NFKD", word)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def glove_form(word: str, vocabulary: Container[str]) -> str | None:
    """The entry of ``vocabulary`` that holds ``word``'s vector, or ``None`` (out of vocabulary).

    ``word`` itself if ``vocabulary`` has it, else ``fold_accents(word)`` if it has that, else
    ``None``. No other change is made (no lower-casing: GloVe 6B is lower case, and
    :func:`title_words` already lower-cases).

    Args:
        word: a word, e.g. from :func:`title_words`.
        vocabulary: anything that supports ``in``: a :class:`course_lib.datasets.WordVectors`,
            its ``index`` dict, a set or list of words.

    Raises:
        TypeError: ``word`` is not a ``str``.

    >>> glove_form("café", {"cafe", "au", "lait"})
    'cafe'
    >>> glove_form("café", {"café", "cafe"})
    'café'
    >>> glove_form("xyzzy", {"cafe"}) is None
    True
    """
    if not isinstance(word, str):
        raise TypeError(f"glove_form(word={word!r}): expected a str, got {type(word).__name__}")
    if word in vocabulary:
        return word
    folded = fold_accents(word)
    return folded if folded != word and folded in vocabulary else None
