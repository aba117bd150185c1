"""Master data: the tenant's customers (user report) and branches (locations list),
from xlsx files on its SFTP server or in a local folder.

columns.py   canonical columns, the seed platform's default headers, header matching
read.py      xlsx -> rows (python-calamine), blank rows skipped, headers trimmed
validate.py  every rule, with file, row and column in each problem
load.py      fetch (with retries), checksum no-op, one-transaction replace
assets.py    the Dagster asset and its checks
demo.py      demo files from the seeded population (matching the synthetic GA4 data)
reps.py      the editable branch -> sales-rep mapping
"""
