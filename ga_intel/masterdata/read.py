"""Read an xlsx file into header-matched rows.

python-calamine (through pandas) reads large files several times faster than openpyxl
(see docs/MASTER_DATA.md). Real files vary: the header row may follow blank or title
rows, headers differ in case and spacing, columns come in any order with extras, and
blank rows appear between records. All of that is absorbed here.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import pandas as pd

from ga_intel.errors import GaIntelError
from ga_intel.masterdata.columns import Column, normalize


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class FileProblem(GaIntelError):
    """A master-data file cannot be used; names the file and what is wrong."""


@dataclass
class Sheet:
    file_name: str
    header_row: int                      # 1-based spreadsheet row of the header
    columns: dict[str, str]              # canonical name -> header as written in the file
    rows: list[tuple[int, dict]]         # (spreadsheet row number, canonical name -> value)
    extra_headers: list[str] = field(default_factory=list)


def _cell(value):
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, str):
        # Control characters (a CR/LF in a rep's name would start a mail header of its
        # own) become spaces: no field of the master data has a use for them.
        value = " ".join(_CONTROL.sub(" ", value).split()) if _CONTROL.search(value) else value.strip()
        return value or None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # ids typed as numbers in Excel: 100001.0 -> "100001"
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value if not isinstance(value, (int,)) else str(value)


def read_xlsx(data: bytes, file_name: str, columns: list[Column]) -> Sheet:
    if not data:
        raise FileProblem(f"{file_name} is empty (0 bytes)", hint="ask the tenant to upload the export again")
    if not data.startswith(b"PK"):
        raise FileProblem(f"{file_name} is not an xlsx file (an xlsx is a zip archive)",
                          hint="export the report as Excel .xlsx, not CSV or .xls")
    try:
        frame = pd.read_excel(io.BytesIO(data), engine="calamine", header=None, dtype=object)
    except Exception as exc:
        raise FileProblem(f"{file_name} cannot be read as xlsx: {type(exc).__name__}: {str(exc)[:200]}",
                          hint="open it in Excel and save it again as .xlsx") from None
    wanted = {normalize(c.header): c.name for c in columns}
    header_index = None
    for i, values in enumerate(frame.itertuples(index=False)):
        normalized = {normalize(v) for v in values if _cell(v) is not None}
        if normalized & set(wanted):
            header_index = i
            break
        if i > 20:
            break
    if header_index is None:
        raise FileProblem(f"{file_name} has no header row with any of the expected columns "
                          f"({', '.join(c.header for c in columns if c.required)})",
                          hint="check the file, or the column mapping in the tenant's master_data settings")
    headers = [_cell(v) for v in frame.iloc[header_index]]
    positions: dict[str, int] = {}
    found: dict[str, str] = {}
    extra = []
    for pos, header in enumerate(headers):
        if header is None:
            continue
        name = wanted.get(normalize(header))
        if name and name not in positions:
            positions[name] = pos
            found[name] = str(header)
        elif not name:
            extra.append(str(header))
    rows = []
    for offset, values in enumerate(frame.iloc[header_index + 1:].itertuples(index=False)):
        cells = {name: _cell(values[pos]) for name, pos in positions.items()}
        if all(v is None for v in cells.values()):
            continue  # blank row
        rows.append((header_index + 2 + offset, cells))
    return Sheet(file_name, header_index + 1, found, rows, extra)
