"""Shared column helpers: groups of positions by label, taken without copying where possible."""

from __future__ import annotations

import numpy as np

from planner.analysis.columns import _groups, _where


def test_groups_are_each_labels_positions_in_their_original_order() -> None:
    labels = np.array([2, 0, 2, -1, 1, 0, 2])
    groups = _groups(labels, 3)
    values = np.arange(10.0, 17.0)
    assert [values[g].tolist() for g in groups] == [[11.0, 15.0], [14.0], [10.0, 12.0, 16.0]]


def test_a_group_of_every_position_is_a_view_of_the_column_not_a_copy() -> None:
    values = np.arange(5.0)
    groups = _groups(np.full(5, 1), 3)
    assert [len(values[g]) for g in groups] == [0, 5, 0]
    assert np.shares_memory(values[groups[1]], values)


def test_where_keeps_the_rows_whose_mask_holds_whatever_form_the_rows_take() -> None:
    values = np.arange(10.0, 15.0)
    mask = np.array([True, False, True, True, False])
    every = _groups(np.zeros(5, dtype=np.int64), 1)[0]
    some = _groups(np.array([0, 1, 0, 0, 0]), 2)[0]
    assert values[_where(every, mask)].tolist() == [10.0, 12.0, 13.0]
    assert values[_where(some, mask[[0, 2, 3, 4]])].tolist() == [10.0, 12.0, 13.0]
    assert _where(every, np.ones(5, dtype=bool)) is every
