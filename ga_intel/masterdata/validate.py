"""Master-data rules. Every problem names the file, the spreadsheet row and the column,
and all of them are reported at once; nothing is loaded while any remains."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from ga_intel.errors import GaIntelError
from ga_intel.masterdata.columns import Column
from ga_intel.masterdata.read import Sheet

_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
_TRUE = {"1", "true", "yes", "y", "active", "t"}
_FALSE = {"0", "false", "no", "n", "inactive", "f"}
MAX_LISTED = 50


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = (
            self.file + (f" row {self.row}" if self.row else "") + (f", column {self.column!r}" if self.column else "")
        )
        return f"{where}: {self.message}"


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def text(self) -> str:
        shown = "\n".join(f"  - {p}" for p in self.problems[:MAX_LISTED])
        more = f"\n  ... and {len(self.problems) - MAX_LISTED} more" if len(self.problems) > MAX_LISTED else ""
        return f"{len(self.problems)} problem(s); the previous master data stays in place:\n{shown}{more}"


class MasterDataInvalid(GaIntelError):
    def __init__(self, report: Report):
        self.report = report
        super().__init__(report.text(), hint="fix the file(s) and upload them again; see docs/MASTER_DATA.md")


def _convert(value, column: Column):
    if value is None:
        return None
    if column.kind == "email":
        text = str(value).strip().lower()
        if not _EMAIL.match(text):
            raise ValueError(f"{value!r} is not a valid email address")
        return text
    if column.kind == "bool":
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"{value!r} is not a yes/no value (expected 1/0, true/false, yes/no)")
    if column.kind == "number":
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not a number") from None
    if column.kind == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        text = str(value).strip()
        for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M:%S %p"):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        raise ValueError(f"{value!r} is not a date (expected YYYY-MM-DD or MM/DD/YYYY)")
    return str(value).strip()


def clean(sheet: Sheet, columns: list[Column], id_column: str, report: Report) -> list[dict]:
    """Typed records of one sheet; problems go to `report`."""
    for c in columns:
        if c.required and c.name not in sheet.columns:
            report.problems.append(Problem(sheet.file_name, sheet.header_row, c.header, "required column is missing"))
    if any(p.file == sheet.file_name and p.message == "required column is missing" for p in report.problems):
        return []
    by_name = {c.name: c for c in columns}
    records, seen = [], {}
    for row_no, cells in sheet.rows:
        record = {}
        for name, value in cells.items():
            try:
                record[name] = _convert(value, by_name[name])
            except ValueError as exc:
                report.problems.append(Problem(sheet.file_name, row_no, sheet.columns[name], str(exc)))
        key = record.get(id_column)
        header = sheet.columns.get(id_column, id_column)
        if not key:
            report.problems.append(Problem(sheet.file_name, row_no, header, "id is empty"))
            continue
        if key in seen:
            report.problems.append(Problem(sheet.file_name, row_no, header, f"id {key!r} repeats row {seen[key]}"))
            continue
        seen[key] = row_no
        record["_row"] = row_no
        records.append(record)
    if not sheet.rows:
        report.problems.append(Problem(sheet.file_name, None, None, "holds a header but no rows"))
    return records


def cross_check(
    users: list[dict], locations: list[dict], users_sheet: Sheet, report: Report, reps_by_branch: dict[str, int]
) -> None:
    """Each customer's branch exists; warnings for customers nobody covers."""
    branches = {loc["warehouse_code"] for loc in locations}
    # GA4's default_branch_id may carry the warehouse id rather than its code.
    code_of_id = {str(loc["warehouse_id"]): loc["warehouse_code"] for loc in locations if loc.get("warehouse_id")}
    header = users_sheet.columns.get("branch_code", "warehouse_code")
    for user in users:
        branch = user.get("branch_code")
        if branch is None:
            report.problems.append(Problem(users_sheet.file_name, user["_row"], header, "branch is empty"))
            continue
        if branch not in branches and branch in code_of_id:
            branch = user["branch_code"] = code_of_id[branch]
        if branch not in branches:
            report.problems.append(
                Problem(users_sheet.file_name, user["_row"], header, f"branch {branch!r} is not in the locations list")
            )
        elif not user.get("rep_email") and not reps_by_branch.get(branch):
            report.warnings.append(
                Problem(
                    users_sheet.file_name,
                    user["_row"],
                    None,
                    f"customer {user['user_id']} has no sales rep (none for branch {branch})",
                )
            )
