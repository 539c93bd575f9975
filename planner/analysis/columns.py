"""Column types the tables share: float arrays and categorical label columns."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def _labels(codes: NDArray[np.integer[Any]], names: Sequence[str]) -> pd.Categorical:
    """A categorical column from integer codes into ``names`` (-1 for none).

    Categoricals keep a million-row table small: one small integer per row, not a string.
    Repeated names (say two cohorts both called "spare") share one category.
    """
    if not len(codes):
        # An empty column gets no labels: Parquet keeps none for it, so it reads back the same.
        return pd.Categorical.from_codes(codes, categories=pd.Index([], dtype="str"))
    unique = list(dict.fromkeys(names))
    # Few names: codes of the type the categorical keeps them in, so it need not convert them.
    small = len(unique) < np.iinfo(np.int8).max
    remap: NDArray[np.signedinteger[Any]] = np.array(
        [unique.index(name) for name in names] + [-1], dtype=np.int8 if small else np.int64
    )
    return pd.Categorical.from_codes(remap[codes], categories=pd.Index(unique, dtype="str"))


def _sum_by(labels: NDArray[np.int64], weights: NDArray[Any], count: int) -> FloatArray:
    """The sum of ``weights`` per label 0, 1, ... ``count - 1``: ``np.bincount`` with weights,
    but float even when nothing is summed (numpy's bincount then returns integers, and a
    column would change type between runs)."""
    return np.bincount(labels, weights, minlength=count).astype(np.float64, copy=False)


# Some of an array's positions: an index array, or the slice of them all.
Rows = NDArray[np.int64] | slice


def _groups(labels: NDArray[np.int64], count: int) -> list[Rows]:
    """The positions labelled 0, 1, ... ``count - 1``, each group in its original order.

    One stable sort, a radix sort while labels fit in 16 bits, in place of a mask per label.
    A group of every position (one cohort, one tenant: the common case) is the slice of them
    all, so taking it is a view rather than a copy of a million-row column.
    """
    if len(labels) and count and labels[0] >= 0 and (labels == labels[0]).all():
        return [slice(None) if k == labels[0] else _NONE for k in range(count)]
    key = labels.astype(np.int16 if count <= 2**15 else np.int64)
    by = np.argsort(key, kind="stable")
    bounds = np.searchsorted(key[by], np.arange(count + 1))
    return [by[a:b] for a, b in pairwise(bounds)]


_NONE: NDArray[np.int64] = np.zeros(0, dtype=np.int64)


def _where(rows: Rows, mask: NDArray[np.bool_]) -> Rows:
    """Those of ``rows`` where ``mask`` (one per row, in their order) holds."""
    if mask.all():
        return rows
    return np.flatnonzero(mask) if isinstance(rows, slice) else rows[mask]


def _table(
    columns: dict[str, NDArray[Any] | pd.Categorical],
    rows: NDArray[np.int64] | None = None,
    borrowed: Collection[str] = (),
) -> pd.DataFrame:
    """A table of ``columns`` (only ``rows`` of them, if given), none sharing memory with them
    where they are ``borrowed`` (held elsewhere too).

    Taking ``rows`` copies every column once; without ``rows`` only the borrowed columns are
    copied, and the others, made for this table, become its columns as they are. Either way
    the columns are handed to the table as they are: a table built the usual way copies every
    column again, into blocks of columns of one type.
    """
    if rows is None:
        taken = {
            name: values.copy() if name in borrowed else values for name, values in columns.items()
        }
    else:
        taken = {name: values[rows] for name, values in columns.items()}
    return pd.DataFrame(taken, copy=False)
