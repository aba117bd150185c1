"""Finding 11: an oversized or zip-bomb master-data file must not take the server down.

A tenant controls its master-data files. The reader took an xlsx whole into memory and
handed it to the parser, and an xlsx is a zip: a few megabytes can expand to gigabytes.
Now the file's size is checked before it is downloaded, and its expanded size and row
count by inflating it in bounded chunks before any parser sees it, each against an
operator's limit (GA_INTEL_MASTER_DATA_MAX_*). Refused files name the file, the limit and
the setting, and change nothing. Through the real SFTP server (sshd) and the real asset."""

from __future__ import annotations

import io
import os
import struct
import zipfile

from ga_intel.orchestration.run import failure_messages
from ga_intel_tests.helpers.masterdata import USER_HEADER, USERS, add_sftp_tenant, error_of, materialize, rows, xlsx

GIB = 1024**3


def _with_sheet(sheet_chunks) -> bytes:
    """A real xlsx (openpyxl's) whose first worksheet is replaced by `sheet_chunks`,
    deflated as they stream (never the whole sheet in memory)."""
    source = zipfile.ZipFile(io.BytesIO(xlsx(USER_HEADER, USERS)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for item in source.infolist():
            if item.filename == "xl/worksheets/sheet1.xml":
                with target.open(item.filename, "w", force_zip64=True) as fh:
                    for chunk in sheet_chunks:
                        fh.write(chunk)
            else:
                target.writestr(item, source.read(item.filename))
    return out.getvalue()


def zip_bomb(expanded: int) -> bytes:
    head = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><sheetData>'
    )
    block = b" " * (16 * 1024 * 1024)

    def chunks():
        yield head
        for _ in range(expanded // len(block) + 1):
            yield block
        yield b"</sheetData></worksheet>"

    return _with_sheet(chunks())


def lying_bomb(expanded: int, declared: int) -> bytes:
    """A bomb whose central directory says the worksheet is `declared` bytes: a reader
    that trusts the sizes a zip declares checks nothing."""
    data = bytearray(_with_sheet(iter([b" " * expanded])))
    entry = data.rindex(b"PK\x01\x02", 0, data.index(b"xl/worksheets/sheet1.xml", data.rindex(b"PK\x05\x06") - 4096))
    data[entry + 24 : entry + 28] = struct.pack("<I", declared)
    return bytes(data)


def many_rows(n: int) -> bytes:
    head = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><sheetData>'
    )

    def chunks():
        yield head
        for i in range(1, n + 1):
            yield f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>{i}</t></is></c></row>'.encode()
        yield b"</sheetData></worksheet>"

    return _with_sheet(chunks())


def _state():
    return rows("acme", "users", "user_id"), rows("acme", "master_data_files", "kind, loaded_at")


def test_a_zip_bomb_and_oversized_files_are_refused_before_parsing(db, secret_key, drop, monkeypatch):  # noqa: F811
    for name in (
        "GA_INTEL_MASTER_DATA_MAX_FILE_MB",
        "GA_INTEL_MASTER_DATA_MAX_EXPANDED_MB",
        "GA_INTEL_MASTER_DATA_MAX_ROWS",
    ):
        monkeypatch.delenv(name, raising=False)
    add_sftp_tenant(drop)
    first = materialize("acme")
    assert first.success, failure_messages(first)
    before = _state()
    assert len(before[0]) == 2

    # The attack: a small upload that inflates past a gigabyte (the default limit is 1 GiB).
    bomb = zip_bomb(GIB + 64 * 1024 * 1024)
    assert len(bomb) < 16 * 1024 * 1024
    drop.put("UserReport.xlsx", bomb)
    error = error_of(materialize("acme"))
    assert "UserReport.xlsx expands to more than 1,073,741,824 bytes when unzipped" in error
    assert "GA_INTEL_MASTER_DATA_MAX_EXPANDED_MB" in error
    assert _state() == before  # nothing loaded, nothing recorded as loaded

    # A bomb that lies about its size in the zip directory: inflated, not trusted.
    monkeypatch.setenv("GA_INTEL_MASTER_DATA_MAX_EXPANDED_MB", "16")
    drop.put("UserReport.xlsx", lying_bomb(64 * 1024 * 1024, declared=4096))
    error = error_of(materialize("acme"))
    assert "UserReport.xlsx cannot be read as xlsx" in error or "UserReport.xlsx expands to more than" in error
    assert _state() == before
    monkeypatch.delenv("GA_INTEL_MASTER_DATA_MAX_EXPANDED_MB")

    # Too many rows, under an operator's lower limit.
    monkeypatch.setenv("GA_INTEL_MASTER_DATA_MAX_ROWS", "1000")
    drop.put("UserReport.xlsx", many_rows(1001))
    error = error_of(materialize("acme"))
    assert "UserReport.xlsx has more than 1,000 rows" in error and "GA_INTEL_MASTER_DATA_MAX_ROWS" in error
    assert _state() == before
    drop.put("UserReport.xlsx", many_rows(1000))  # at the limit: read (and then refused for its content)
    assert "more than 1,000 rows" not in error_of(materialize("acme"))
    assert _state() == before
    monkeypatch.delenv("GA_INTEL_MASTER_DATA_MAX_ROWS")

    # Too large to download at all.
    monkeypatch.setenv("GA_INTEL_MASTER_DATA_MAX_FILE_MB", "1")
    drop.put("UserReport.xlsx", xlsx(USER_HEADER, USERS) + os.urandom(2 * 1024 * 1024))
    error = error_of(materialize("acme"))
    assert "UserReport.xlsx is 2," in error and "bytes, more than 1,048,576" in error
    assert "GA_INTEL_MASTER_DATA_MAX_FILE_MB" in error
    assert _state() == before

    # A bad limit is a clear error, not a silent default.
    monkeypatch.setenv("GA_INTEL_MASTER_DATA_MAX_FILE_MB", "lots")
    assert "GA_INTEL_MASTER_DATA_MAX_FILE_MB='lots' is not a positive whole number" in error_of(materialize("acme"))
    assert _state() == before
