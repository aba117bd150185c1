"""Master-data reading: python-calamine (what the loader uses) against openpyxl, on the
same 50,000-customer user report, in the same run."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.common import Measurement, compare, timed


def run(echo: Callable[[str], None], customers: int = 50_000) -> list[Measurement]:
    import pandas as pd

    from ga_intel.demo.master_data import write_files
    from ga_intel.masterdata import columns
    from ga_intel.masterdata.read import read_xlsx

    folder = Path(tempfile.mkdtemp(prefix="ga-intel-bench-md-"))
    users, locations = write_files(folder, extra_customers=customers)
    data = users.read_bytes()
    rows = len(read_xlsx(data, users.name, columns.USER_COLUMNS).rows)
    t_ours, _ = timed(read_xlsx, data, users.name, columns.USER_COLUMNS)
    t_calamine, _ = timed(pd.read_excel, io.BytesIO(data), engine="calamine", header=None, dtype=object)
    t_openpyxl, _ = timed(pd.read_excel, io.BytesIO(data), engine="openpyxl", header=None, dtype=object)
    users.unlink()
    locations.unlink()
    folder.rmdir()
    return [
        compare(
            "masterdata.read_rows_per_s",
            rows / t_ours,
            "rows/s",
            "pandas + openpyxl on the same file",
            rows / t_openpyxl,
            note=f"{rows:,} rows x {len(columns.USER_COLUMNS)} columns, "
            f"{len(data) / 1e6:.1f} MB; header matching included",
        ),
        compare(
            "masterdata.calamine_vs_openpyxl",
            rows / t_calamine,
            "rows/s",
            "pandas + openpyxl",
            rows / t_openpyxl,
            note="raw pandas.read_excel, both engines",
        ),
    ]
