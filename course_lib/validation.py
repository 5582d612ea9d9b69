"""Argument checks shared by every public ``course_lib`` function: one clear error, or a clean value.

Each ``check_*`` function takes the value and the *argument name* the caller's user typed,
and either returns the value in a canonical form (documented per function) or raises a
``TypeError`` (wrong kind of value) or ``ValueError`` (right kind, wrong value). Every message
names the argument, shows the bad value (for arrays: shape, dtype and the first offending
entries with their positions) and says what to do. Nothing is coerced silently: a float id is
never truncated, a string id never compared as text, a negative id never wraps around to the
last row, ``"no"`` is not a boolean, NaN never passes a numeric check.

Typical use at the top of a public function::

    from course_lib import validation as v

    def train(user_ids, movie_ids, ratings, *, n_users, n_movies, dim=32, epochs=5, learning_rate=1e-2):
        users = v.check_ids(user_ids, "user_ids", minimum=1, maximum=n_users, ndim=1)
        movies = v.check_ids(movie_ids, "movie_ids", minimum=1, maximum=n_movies, shape=users.shape)
        stars = v.check_ratings(ratings, "ratings", minimum=0.5, maximum=5.0, shape=users.shape)
        dim, epochs = v.check_size(dim, "dim"), v.check_size(epochs, "epochs")
        learning_rate = v.check_positive(learning_rate, "learning_rate")

The API (stable; other modules rely on it):

========================  ==========================================  ===========================
function                  accepts                                     returns
========================  ==========================================  ===========================
:func:`check_ids`         integer array-like (NumPy, pandas, list,    ``np.ndarray`` of int64
                          tensor), no NaN, within [minimum, maximum]
:func:`check_ratings`     real numbers, finite, in [minimum, maximum] ``np.ndarray`` of float32
:func:`check_finite`      real numbers, no NaN or inf                 ``np.ndarray``, float
:func:`check_size`        an ``int`` >= minimum (sizes, k, epochs)    ``int``
:func:`check_seed`        an ``int`` in [0, 2**32 - 1]                ``int``
:func:`check_positive`    a real number > 0 (or >= 0), finite         ``float``
:func:`check_bool`        ``True`` or ``False`` (NumPy bools too)     ``bool``
:func:`check_choice`      one of a fixed set of values                the value
:func:`check_path`        ``str`` or ``os.PathLike``, not empty       ``pathlib.Path``
:func:`check_file_name`   one plain file name, no folders in it       ``str``
:func:`check_table_rows`  a table size (largest id + 1) that fits       ``int``
:func:`check_instance`    an instance of given classes                the value
:func:`check_labels`      a sequence of labels, never one ``str``     ``list``
:func:`check_env`         an environment variable in a fixed set      what its value means
========================  ==========================================  ===========================

Every function also takes ``hint=""``: a sentence appended to the message, for advice only the
caller can give ("n_users comes from the training ratings; rebuild the model").
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "MAX_ID",
    "MAX_TABLE_ROWS",
    "check_bool",
    "check_choice",
    "check_env",
    "check_instance",
    "check_labels",
    "check_file_name",
    "check_finite",
    "check_ids",
    "check_path",
    "check_positive",
    "check_ratings",
    "check_seed",
    "check_size",
    "check_table_rows",
]

#: The largest seed NumPy's and Python's generators accept through ``keras.utils.set_random_seed``.
MAX_SEED = 2**32 - 1

#: The largest id a model input holds: Keras's Embedding inputs are int32, where a larger id would wrap
#: around (2**32 becomes 0, the padding id).
MAX_ID = 2**31 - 1

#: The most rows a table indexed by id may have before :func:`check_table_rows` refuses it: 10 million
#: rows of float64 are 80 MB per array. MovieLens ids are compact (25m: movie ids up to 209,171).
MAX_TABLE_ROWS = 10_000_000

_EXAMPLES = 3  # offending entries shown in a message


# --------------------------------------------------------------------------- message helpers


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fail(kind: type[Exception], name: str, shown: str, problem: str, fix: str, hint: str) -> Exception:
    message = f"{name}={shown}: {problem}; {fix}"
    if hint:
        message += f" ({hint.rstrip('.')})"
    return kind(message)


def _describe_array(array: np.ndarray) -> str:
    return f"<array of shape {array.shape}, dtype {array.dtype}>"


def _where(array: np.ndarray, bad: np.ndarray) -> str:
    """'-1 at index 5, -3 at index 9 and 2 more' for the first few True entries of ``bad``."""
    parts = []
    for position in np.argwhere(bad)[:_EXAMPLES]:
        entry = array[tuple(position)]
        entry = entry.item() if isinstance(entry, np.generic) else entry
        index = int(position[0]) if array.ndim == 1 else tuple(int(p) for p in position)
        parts.append(f"{_short(entry, 30)} at index {index}")
    more = int(bad.sum()) - len(parts)
    return ", ".join(parts) + (f" and {more:,} more" if more > 0 else "")


def _to_array(values: Any, name: str, hint: str) -> np.ndarray:
    """Array-like -> ndarray, refusing things that only look like arrays (None, str, dict, set)."""
    if values is None or isinstance(values, (str, bytes, dict, set, frozenset)):
        raise _fail(TypeError, name, _short(values), f"expected an array of numbers, got {type(values).__name__}",
                    "pass a list, NumPy array, pandas Series or tensor", hint)
    if hasattr(values, "numpy") and not isinstance(values, (np.ndarray, pd.Series, pd.Index)):
        values = values.numpy()  # a TensorFlow / Keras tensor
    if isinstance(values, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
        if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
            missing = np.asarray(pd.isna(values))
            if missing.any():
                shown = f"<{type(values).__name__} of length {len(values)}, dtype {values.dtype}>"
                raise _fail(ValueError, name, shown, f"holds {int(missing.sum()):,} missing values (e.g. at position "
                            f"{int(np.flatnonzero(missing)[0])})", "drop or fill those rows first", hint)
            target = values.dtype.numpy_dtype if hasattr(values.dtype, "numpy_dtype") else None
            return values.to_numpy(dtype=target)
        return values.to_numpy()
    try:
        array = np.asarray(values)
    except (ValueError, TypeError) as exc:  # ragged nested lists and the like
        raise _fail(TypeError, name, _short(values), f"is not a rectangular array of numbers ({exc})",
                    "pass a flat list, NumPy array or pandas Series", hint) from None
    if array.dtype == object:
        missing = np.asarray(pd.isna(array), dtype=bool)
        if missing.any():
            raise _fail(ValueError, name, _describe_array(array), f"holds missing values ({_where(array, missing)})",
                        "drop or fill those rows first", hint)
    return array


def _check_shape(array: np.ndarray, name: str, ndim: int | None, shape: tuple[int, ...] | None,
                 allow_empty: bool, hint: str) -> None:
    if ndim is not None and array.ndim != ndim:
        raise _fail(ValueError, name, _describe_array(array), f"expected a {ndim}-D array, got {array.ndim}-D",
                    "pass " + ("a flat sequence (one value per row)" if ndim == 1 else f"an array with {ndim} axes"), hint)
    if shape is not None and array.shape != tuple(shape):
        raise _fail(ValueError, name, _describe_array(array), f"expected shape {tuple(shape)}, got {array.shape}",
                    "pass one value per row of the other arguments", hint)
    if not allow_empty and array.size == 0:
        raise _fail(ValueError, name, _describe_array(array), "is empty", "pass at least one value", hint)


def _numeric_kind(array: np.ndarray) -> str:
    """'int', 'float', 'bool', 'str', 'complex' or 'other' (object arrays classified by pandas)."""
    if np.issubdtype(array.dtype, np.bool_):
        return "bool"
    if np.issubdtype(array.dtype, np.integer):
        return "int"
    if np.issubdtype(array.dtype, np.floating):
        return "float"
    if np.issubdtype(array.dtype, np.complexfloating):
        return "complex"
    if array.dtype.kind in "USa":
        return "str"
    if array.dtype == object:
        inferred = pd.api.types.infer_dtype(array.ravel(), skipna=False)
        return {"integer": "int", "floating": "float", "mixed-integer-float": "float", "boolean": "bool",
                "string": "str", "bytes": "str", "complex": "complex"}.get(inferred, "other")
    return "other"


# --------------------------------------------------------------------------- arrays


def check_ids(
    values: Any,
    name: str,
    *,
    minimum: int = 0,
    maximum: int | None = None,
    ndim: int | None = None,
    shape: tuple[int, ...] | None = None,
    allow_empty: bool = True,
    hint: str = "",
) -> np.ndarray:
    """Integer ids (user ids, movie ids, row numbers, token ids), checked and never coerced.

    Args:
        values: array-like of integers: list, NumPy array (any integer dtype), pandas Series
            (also nullable ``Int64`` without missing values), tensor, or one scalar.
        name: the argument's name, used in the message.
        minimum: smallest allowed id (inclusive). 0 by default: a negative id is always an
            error, never a count from the end.
        maximum: largest allowed id (inclusive), e.g. ``n_rows - 1`` of an embedding table, or
            ``n_users`` when ids run 1..n_users; ``None``: no upper bound.
        ndim, shape: required number of axes / exact shape (``None``: any).
        allow_empty: whether zero ids are acceptable.
        hint: advice appended to the message.

    Returns:
        ``np.ndarray`` of dtype int64, same shape as ``values`` (0-d for a scalar).

    Raises:
        TypeError: not integers: floats (even whole ones like ``3.0``: convert explicitly),
            strings, booleans, complex numbers or objects; or not array-like at all.
        ValueError: missing values (NaN / ``pd.NA``), an id below ``minimum`` or above
            ``maximum``, the wrong ``ndim``/``shape``, or empty when ``allow_empty=False``.
    """
    if maximum is not None and maximum < minimum:
        raise ValueError(f"check_ids({name!r}): maximum={maximum} is below minimum={minimum} (a caller's error)")
    array = _to_array(values, name, hint)
    _check_shape(array, name, ndim, shape, allow_empty, hint)
    if array.size == 0 and array.dtype.kind in "fiuO":  # [] is float64 to NumPy: no value to check
        return array.astype(np.int64)
    kind = _numeric_kind(array)
    shown = _describe_array(array)
    if kind == "float":
        floats = array.astype(np.float64)
        missing = np.isnan(floats)
        if missing.any():
            raise _fail(ValueError, name, shown, f"holds missing ids (NaN: {_where(array, missing)})",
                        "drop or fill those rows first", hint)
        fractional = floats != np.floor(floats)
        if fractional.any():
            raise _fail(TypeError, name, shown, f"holds non-integer ids ({_where(array, fractional)})",
                        "ids must be integers; they are never rounded or truncated", hint)
        raise _fail(TypeError, name, shown, "holds whole numbers stored as floats",
                    "ids must have an integer dtype: convert them explicitly, e.g. np.asarray(ids).astype('int64')", hint)
    if kind != "int":
        what = {"str": "strings", "bool": "booleans", "complex": "complex numbers"}.get(kind, f"values of dtype {array.dtype}")
        first = array.ravel()[0] if array.size else None
        example = f" (e.g. {_short(first.item() if isinstance(first, np.generic) else first, 30)})" if array.size else ""
        fix = ("map them to integer ids first (pd.factorize, or keras.layers.StringLookup / IntegerLookup)"
               if kind == "str" else "pass integer ids")
        raise _fail(TypeError, name, shown, f"holds {what}{example}, not integer ids", fix, hint)
    if array.dtype == np.uint64 and array.size and array.max() > np.iinfo(np.int64).max:
        raise _fail(ValueError, name, shown, "holds ids of 2**63 or more", "pass smaller ids", hint)
    try:
        array = np.array(array.tolist(), dtype=np.int64).reshape(array.shape) if array.dtype == object else array.astype(np.int64)
    except OverflowError:
        raise _fail(ValueError, name, shown, "holds ids of 2**63 or more", "pass smaller ids", hint) from None
    below = array < minimum
    if below.any():
        advice = ("negative ids do not count from the end here; remove or re-map them" if minimum == 0
                  else f"ids start at {minimum}" + (" (0 is the padding id)" if minimum == 1 else "") + "; remove or re-map them")
        raise _fail(ValueError, name, shown, f"holds ids below {minimum} ({_where(array, below)})", advice, hint)
    if maximum is not None:
        above = array > maximum
        if above.any():
            raise _fail(ValueError, name, shown,
                        f"holds ids above {maximum} ({_where(array, above)}; the largest is {int(array.max())})",
                        f"allowed ids are {minimum}..{maximum}: use a larger table size or drop the unknown ids", hint)
    return array


def check_finite(
    values: Any,
    name: str,
    *,
    ndim: int | None = None,
    shape: tuple[int, ...] | None = None,
    allow_empty: bool = True,
    hint: str = "",
) -> np.ndarray:
    """Real numbers without NaN or infinity (scores, vectors, embedding matrices, losses).

    Args:
        values: array-like of real numbers (integers are accepted and converted to float64).
        name, ndim, shape, allow_empty, hint: as in :func:`check_ids`.

    Returns:
        ``np.ndarray`` with the input's floating dtype (float16/32/64 kept), or float64 for
        integer input; same shape.

    Raises:
        TypeError: booleans, strings, complex numbers or objects.
        ValueError: NaN or ±inf anywhere (the message gives positions), missing values,
            the wrong ``ndim``/``shape``, or empty when ``allow_empty=False``.
    """
    array = _to_array(values, name, hint)
    _check_shape(array, name, ndim, shape, allow_empty, hint)
    kind = _numeric_kind(array)
    shown = _describe_array(array)
    if kind not in ("int", "float"):
        what = {"str": "strings", "bool": "booleans", "complex": "complex numbers"}.get(kind, f"values of dtype {array.dtype}")
        raise _fail(TypeError, name, shown, f"holds {what}, not real numbers", "pass numbers (an int or float array)", hint)
    if kind == "int" or array.dtype == object:
        array = array.astype(np.float64)
    bad = ~np.isfinite(array)
    if bad.any():
        raise _fail(ValueError, name, shown, f"holds {int(bad.sum()):,} NaN or infinite values ({_where(array, bad)})",
                    "find where they come from (a division by zero, a failed training run, missing data) and "
                    "remove or fill them", hint)
    return array


def check_ratings(
    values: Any,
    name: str = "ratings",
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    ndim: int | None = None,
    shape: tuple[int, ...] | None = None,
    allow_empty: bool = True,
    hint: str = "",
) -> np.ndarray:
    """Ratings (or any real-valued targets): finite numbers within [minimum, maximum].

    Args:
        values: array-like of real numbers.
        name: the argument's name.
        minimum, maximum: inclusive bounds (``None``: unbounded), e.g. 1 and 5 stars.
        ndim, shape, allow_empty, hint: as in :func:`check_ids`.

    Returns:
        ``np.ndarray`` of float32 (Keras' default), same shape.

    Raises:
        TypeError: as :func:`check_finite`.
        ValueError: NaN/inf, a value outside the bounds, the wrong shape, or empty when not allowed.
    """
    array = check_finite(values, name, ndim=ndim, shape=shape, allow_empty=allow_empty, hint=hint)
    shown = _describe_array(array)
    allowed = f"ratings must lie in [{'-inf' if minimum is None else minimum}, {'inf' if maximum is None else maximum}]"
    if minimum is not None and (array < minimum).any():
        raise _fail(ValueError, name, shown, f"holds values below {minimum:g} ({_where(array, array < minimum)})",
                    f"{allowed}: check the column and its scale", hint)
    if maximum is not None and (array > maximum).any():
        raise _fail(ValueError, name, shown, f"holds values above {maximum:g} ({_where(array, array > maximum)})",
                    f"{allowed}: check the column and its scale", hint)
    return array.astype(np.float32)


# --------------------------------------------------------------------------- scalars


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_size(value: Any, name: str, *, minimum: int = 1, maximum: int | None = None, hint: str = "") -> int:
    """A count or size given as an integer: ``k``, ``dim``, ``batch_size``, ``epochs``, ``n_users``...

    Args:
        value: a Python or NumPy integer. Not a bool, not a float (``32.0`` is refused: pass ``32``).
        name: the argument's name.
        minimum: smallest allowed value (inclusive), 1 by default.
        maximum: largest allowed value (inclusive), or ``None``.
        hint: advice appended to the message, e.g. why ``maximum`` is what it is.

    Returns:
        ``int``.

    Raises:
        TypeError: not an integer.
        ValueError: below ``minimum`` or above ``maximum``.
    """
    if not _is_int(value):
        whole = isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer()
        example = int(value) if whole and int(value) >= minimum else max(minimum, 1)
        raise _fail(TypeError, name, _short(value), f"expected an int, got {type(value).__name__}",
                    f"pass a whole number such as {example}", hint)
    value = int(value)
    if value < minimum:
        raise _fail(ValueError, name, repr(value), f"must be at least {minimum}", f"pass an int >= {minimum}", hint)
    if maximum is not None and value > maximum:
        raise _fail(ValueError, name, repr(value), f"must be at most {maximum}", f"pass an int <= {maximum}", hint)
    return value


def check_seed(value: Any, name: str = "seed", *, hint: str = "") -> int:
    """A random seed: an ``int`` in [0, 2**32 - 1] (what NumPy, Python and TensorFlow all accept).

    Raises:
        TypeError: not an integer (``1.5``, ``"42"``, ``None``, ``True``).
        ValueError: negative or above :data:`MAX_SEED`.
    """
    return check_size(value, name, minimum=0, maximum=MAX_SEED, hint=hint)


def check_positive(value: Any, name: str, *, allow_zero: bool = False, hint: str = "") -> float:
    """A real, finite number > 0 (or >= 0 with ``allow_zero``): learning rates, temperatures, weights.

    Returns:
        ``float``.

    Raises:
        TypeError: not a real number (strings, ``None``, booleans, complex numbers).
        ValueError: NaN, infinite, negative, or zero when ``allow_zero`` is False.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise _fail(TypeError, name, _short(value), f"expected a number, got {type(value).__name__}",
                    "pass an int or float such as 0.01", hint)
    number = float(value)
    if not math.isfinite(number):
        raise _fail(ValueError, name, repr(value), "is not finite", "pass a finite number", hint)
    if number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise _fail(ValueError, name, repr(value), f"must be {bound}", f"pass a number {bound}", hint)
    return number


def check_bool(value: Any, name: str, *, hint: str = "") -> bool:
    """``True`` or ``False`` (also ``np.True_``/``np.False_``); nothing merely truthy.

    ``"no"``, ``"false"``, ``0``, ``1`` and ``None`` are refused: a string is always truthy in
    Python, so ``download="no"`` would otherwise mean yes.

    Raises:
        TypeError: anything else.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise _fail(TypeError, name, _short(value), f"expected True or False, got {type(value).__name__}",
                f"pass {name}=True or {name}=False", hint)


def check_choice(value: Any, name: str, choices: Collection[Any], *, hint: str = "") -> Any:
    """``value`` if it is one of ``choices``, else an error.

    Compared with ``==`` after an ``isinstance`` check against the choice's type, so ``1`` does not
    match ``"1"`` and ``True`` does not match ``1``.

    Raises:
        ValueError: not one of ``choices`` (the message lists them).
    """
    for choice in choices:
        same_kind = isinstance(value, type(choice)) and isinstance(value, bool) == isinstance(choice, bool)
        if same_kind and value == choice:
            return value
    listed = ", ".join(repr(c) for c in choices)
    raise _fail(ValueError, name, _short(value), f"is not one of {listed}", "pass one of these", hint)


def check_path(value: Any, name: str, *, must_exist: bool = False, kind: str | None = None, hint: str = "") -> Path:
    """A file-system path given as ``str`` or ``os.PathLike``; ``~`` is expanded.

    Args:
        value: the path.
        name: the argument's name.
        must_exist: refuse a path that does not exist.
        kind: ``"file"`` or ``"dir"``: if the path exists, it must be of this kind.
        hint: advice appended to the message.

    Returns:
        ``pathlib.Path`` (not resolved: relative paths stay relative).

    Raises:
        TypeError: not a ``str``/``os.PathLike`` (bytes are refused too).
        ValueError: empty, or holds a NUL character.
        FileNotFoundError: ``must_exist`` and it does not exist.
        IsADirectoryError / NotADirectoryError: it exists but is of the other ``kind``.
    """
    if kind not in (None, "file", "dir"):
        raise ValueError(f"kind={kind!r}: use None, 'file' or 'dir'")
    if not isinstance(value, (str, os.PathLike)):
        raise _fail(TypeError, name, _short(value), f"expected a path (str or pathlib.Path), got {type(value).__name__}",
                    "pass a path such as 'outputs/vectors.tsv'", hint)
    text = os.fspath(value)
    if isinstance(text, bytes):
        raise _fail(TypeError, name, _short(value), "is a bytes path", "pass a str or pathlib.Path", hint)
    if not text.strip():
        raise _fail(ValueError, name, repr(text), "is empty", "pass a file or folder path", hint)
    if "\0" in text:
        raise _fail(ValueError, name, _short(text), "holds a NUL character", "remove it", hint)
    path = Path(text).expanduser()
    if must_exist and not path.exists():
        raise _fail(FileNotFoundError, name, repr(text), "does not exist", "check the spelling and the current folder "
                    f"({Path.cwd().name}/)", hint)
    if kind == "file" and path.is_dir():
        raise _fail(IsADirectoryError, name, repr(text), "is a folder, not a file", "pass the path of a file", hint)
    if kind == "dir" and path.exists() and not path.is_dir():
        raise _fail(NotADirectoryError, name, repr(text), "is a file, not a folder", "pass the path of a folder", hint)
    return path


def check_file_name(value: Any, name: str, *, hint: str = "") -> str:
    """One plain file name to be created inside a folder the caller chose: no folder parts.

    Refuses ``""``, ``"."``, ``".."``, names with ``/`` or ``\\`` (so ``"../x"`` cannot write
    outside the folder), absolute paths, and NUL characters.

    Returns:
        the name, unchanged (``str``).

    Raises:
        TypeError: not a ``str``.
        ValueError: any of the refused forms above.
    """
    if not isinstance(value, str):
        raise _fail(TypeError, name, _short(value), f"expected a file name (str), got {type(value).__name__}",
                    "pass a name such as 'movies'", hint)
    if value.strip() in ("", ".", "..") or "/" in value or "\\" in value or "\0" in value or os.path.isabs(value):
        raise _fail(ValueError, name, repr(value), "is not a plain file name (no folders, not empty, not '.' or '..')",
                    "pass a name such as 'movies'; choose the folder with the folder argument", hint)
    return value


def check_table_rows(largest_id: int, name: str, *, hint: str = "") -> int:
    """The number of rows a table indexed by id needs, ``largest_id + 1``, if it is sensibly small.

    A table (an embedding, a bias array) has one row per id up to the largest; an id such as
    10**12 would make a NumPy or Keras table allocate terabytes (MemoryError, or a frozen machine).

    Returns:
        ``largest_id + 1``, an ``int``.

    Raises:
        ValueError: ``largest_id + 1`` is above :data:`MAX_TABLE_ROWS`; the message names the ids'
            argument, the table's size in GB, and the fix (re-map sparse ids to 1..n).
    """
    rows = int(largest_id) + 1
    if rows > MAX_TABLE_ROWS:
        gigabytes = rows * 8 / 1e9
        raise _fail(ValueError, name, repr(int(largest_id)),
                    f"ids up to {int(largest_id):,} need a table of {rows:,} rows ({gigabytes:,.1f} GB per float64 "
                    f"array; the course allows {MAX_TABLE_ROWS:,})",
                    "ids must be compact row numbers: re-map sparse ids first, e.g. pd.factorize(ids)[0] + 1", hint)
    return rows


def check_instance(value: Any, name: str, types: type | tuple[type, ...], *, what: str, hint: str = "") -> Any:
    """``value`` if it is an instance of ``types``, else a ``TypeError`` saying what was expected and how to get it.

    Args:
        value: the argument.
        name: the argument's name.
        types: the class (or classes) it must be an instance of.
        what: the expected value in the caller's terms, e.g. ``"a Split, from split_ratings(ratings)"``.
        hint: advice appended to the message.

    Raises:
        TypeError: anything else (a DataFrame where a Split belongs, a string where a model does).
    """
    if isinstance(value, types):
        return value
    if isinstance(value, np.ndarray):
        shown = _describe_array(value)
    elif isinstance(value, pd.DataFrame):
        shown = f"<DataFrame of shape {value.shape}>"
    else:
        shown = _short(value)
    raise _fail(TypeError, name, shown, f"expected {what}, got {type(value).__name__}", "pass that instead", hint)


def check_labels(values: Any, name: str, *, length: int | None = None, hint: str = "") -> list:
    """A sequence of labels (one per row), refusing a single string, which Python would split into letters.

    Returns:
        the labels as a ``list`` (each turned into ``str``).

    Raises:
        TypeError: a ``str`` or ``bytes`` (one label, not a list of them), or something not iterable.
        ValueError: ``length`` is given and the number of labels differs.
    """
    if isinstance(values, (str, bytes)):
        raise _fail(TypeError, name, _short(values), "is one string, not a list of labels (it would be split into "
                    "letters)", "pass one label per row, e.g. a list or a pandas Series", hint)
    if isinstance(values, (dict, set, frozenset)) or not hasattr(values, "__iter__"):
        raise _fail(TypeError, name, _short(values), f"expected a sequence of labels, got {type(values).__name__}",
                    "pass one label per row, e.g. a list or a pandas Series", hint)
    labels = [str(label) for label in values]
    if length is not None and len(labels) != length:
        raise _fail(ValueError, name, f"<{len(labels)} labels>", f"expected {length} labels (one per row), got "
                    f"{len(labels)}", "pass exactly one label per row", hint)
    return labels


def check_env(variable: str, choices: dict[str, Any], *, default: Any, hint: str = "") -> Any:
    """What environment variable ``variable`` means: ``choices[value]`` (value lower-cased, spaces stripped).

    Unset or empty gives ``default``. A value outside ``choices`` is never ignored.

    Raises:
        ValueError: any other value; the message names the variable, its value and the values allowed.
    """
    raw = os.environ.get(variable, "")
    value = raw.strip().lower()
    if not value:
        return default
    if value in choices:
        return choices[value]
    allowed = ", ".join(repr(c) for c in choices)
    raise _fail(ValueError, variable, repr(raw), f"is not one of {allowed}", "set one of these, or unset it", hint)
