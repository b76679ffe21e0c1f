"""Spreadsheets exported to facilitators: what people typed stays text in Excel."""

from __future__ import annotations

import csv
import io

import pytest
from plenary.web.exports import csv_text, spreadsheet_safe


@pytest.mark.parametrize(
    "typed",
    [
        '=HYPERLINK("http://x.invalid","click")',
        "+1 for night buses",
        "-2 degrees in the waiting room",
        "@everyone",
        "\tindented",
        "\r=1+1",
    ],
)
def test_a_cell_a_spreadsheet_would_run_stays_text(typed: str) -> None:
    assert spreadsheet_safe(typed) == "'" + typed
    (row,) = csv.reader(io.StringIO(csv_text([(typed, 3)])))
    assert row == ["'" + typed, "3"]


@pytest.mark.parametrize("cell", ["night buses", "", "a=b", "café", 7, -3, None, 2.5])
def test_other_cells_are_left_alone(cell: object) -> None:
    assert spreadsheet_safe(cell) == cell
