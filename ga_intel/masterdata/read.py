"""Read an xlsx file into header-matched rows.

python-calamine (through pandas) reads large files several times faster than openpyxl
(see docs/MASTER_DATA.md). Real files vary: the header row may follow blank or title
rows, headers differ in case and spacing, columns come in any order with extras, and
blank rows appear between records. All of that is absorbed here.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field

import pandas as pd

from ga_intel import settings
from ga_intel.errors import GaIntelError
from ga_intel.masterdata.columns import Column, normalize

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class FileProblem(GaIntelError):
    """A master-data file cannot be used; names the file and what is wrong."""


@dataclass
class Sheet:
    file_name: str
    header_row: int  # 1-based spreadsheet row of the header
    columns: dict[str, str]  # canonical name -> header as written in the file
    rows: list[tuple[int, dict]]  # (spreadsheet row number, canonical name -> value)
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


# A worksheet row in the sheet XML starts `<row` (or `<x:row` with a namespace prefix).
# Counted with bytes.count, 20× faster than a regular expression; the rare other tag
# that starts the same (`<rowBreaks>`) only makes the count an upper bound.
_ROW_MARKS = (b"<row", b":row")


def _row_marks(data: bytes) -> int:
    return sum(data.count(mark) for mark in _ROW_MARKS)


_CHUNK = 1024 * 1024


def _over(what: str, variable: str) -> FileProblem:
    # The setting is in the message itself: the load's problem list keeps messages only.
    return FileProblem(
        f"{what}, over the limit for a master-data file (the operator's {variable}; docs/MASTER_DATA.md)",
        hint=f"ask the tenant for a smaller file, or, if files this size are expected, raise {variable}",
    )


def check_file_size(size: int, file_name: str) -> None:
    """Refuse a file larger than the operator's cap, before it is downloaded."""
    limit = settings.master_data_limits().max_file_bytes
    if size > limit:
        raise _over(f"{file_name} is {size:,} bytes, more than {limit:,}", "GA_INTEL_MASTER_DATA_MAX_FILE_MB")


def check_size(data: bytes, file_name: str) -> None:
    """Refuse a zip bomb before any parser sees it: decompress every member in chunks (the
    sizes a zip declares can lie), stopping at the expanded-size cap, and count the
    worksheets' rows on the way, stopping at the row cap. Memory stays at one chunk."""
    limits = settings.master_data_limits()
    check_file_size(len(data), file_name)
    expanded = rows = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.infolist():
                if expanded + member.file_size > limits.max_expanded_bytes:
                    expanded += member.file_size
                    break  # declared over the cap already: no need to inflate it
                is_sheet = member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml")
                tail = b""
                with archive.open(member) as fh:
                    while chunk := fh.read(_CHUNK):
                        expanded += len(chunk)
                        if expanded > limits.max_expanded_bytes:
                            break
                        if is_sheet:
                            # A mark split between chunks is found in tail + chunk; one
                            # wholly in the tail is counted with the next chunk.
                            rows += _row_marks(tail + chunk)
                            tail = chunk[-4:]
                            rows -= _row_marks(tail)
                            if rows > limits.max_rows:
                                break
                if is_sheet:
                    rows += _row_marks(tail)
                if expanded > limits.max_expanded_bytes or rows > limits.max_rows:
                    break
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError) as exc:
        raise FileProblem(
            f"{file_name} cannot be read as xlsx: {type(exc).__name__}: {str(exc)[:200]}",
            hint="open it in Excel and save it again as .xlsx",
        ) from None
    if expanded > limits.max_expanded_bytes:
        raise _over(
            f"{file_name} expands to more than {limits.max_expanded_bytes:,} bytes when unzipped "
            f"({len(data):,} bytes zipped)",
            "GA_INTEL_MASTER_DATA_MAX_EXPANDED_MB",
        )
    if rows > limits.max_rows:
        raise _over(f"{file_name} has more than {limits.max_rows:,} rows", "GA_INTEL_MASTER_DATA_MAX_ROWS")


def read_xlsx(data: bytes, file_name: str, columns: list[Column]) -> Sheet:
    if not data:
        raise FileProblem(f"{file_name} is empty (0 bytes)", hint="ask the tenant to upload the export again")
    if not data.startswith(b"PK"):
        raise FileProblem(
            f"{file_name} is not an xlsx file (an xlsx is a zip archive)",
            hint="export the report as Excel .xlsx, not CSV or .xls",
        )
    check_size(data, file_name)
    try:
        frame = pd.read_excel(io.BytesIO(data), engine="calamine", header=None, dtype=object)
    except Exception as exc:
        raise FileProblem(
            f"{file_name} cannot be read as xlsx: {type(exc).__name__}: {str(exc)[:200]}",
            hint="open it in Excel and save it again as .xlsx",
        ) from None
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
        raise FileProblem(
            f"{file_name} has no header row with any of the expected columns "
            f"({', '.join(c.header for c in columns if c.required)})",
            hint="check the file, or the column mapping in the tenant's master_data settings",
        )
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
    for offset, values in enumerate(frame.iloc[header_index + 1 :].itertuples(index=False)):
        cells = {name: _cell(values[pos]) for name, pos in positions.items()}
        if all(v is None for v in cells.values()):
            continue  # blank row
        rows.append((header_index + 2 + offset, cells))
    return Sheet(file_name, header_index + 1, found, rows, extra)
