"""The one tokenizer the course uses for movie titles (lessons 02 and 03, the GloVe subset script)."""

from __future__ import annotations

import re

_POSSESSIVE = re.compile(r"'s\b")
_WORD = re.compile(r"[a-z0-9]+")


def title_words(title: str) -> list[str]:
    """Lower-case words of a movie title, in a form GloVe 6B has vectors for.

    A possessive ``'s`` is dropped, letters and digits form words, and every other
    character separates words. Raises ``TypeError`` for a non-string.

    >>> title_words("Schindler's List")
    ['schindler', 'list']
    >>> title_words("Shawshank Redemption, The")
    ['shawshank', 'redemption', 'the']
    """
    if not isinstance(title, str):
        raise TypeError(f"title_words expects a str, got {type(title).__name__}")
    return _WORD.findall(_POSSESSIVE.sub("", title.lower()))
