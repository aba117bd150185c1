"""GA4 ingestion: the BigQuery export of each tenant, one day at a time, into PostgreSQL.

schema/   the GA4 export table schema (explicit; never autodetected)
sql/      the BigQuery queries: unnest, sessionize, de-duplicate, resolve identity
load.py   NDJSON export files -> BigQuery daily tables (`ga-intel ga4 load`)
extract.py  runs the queries, streams Arrow batches back
warehouse.py  replaces one tenant × day in PostgreSQL, atomically, by COPY
assets.py / automation.py  the Dagster side (the asset checks live in assets.py)
"""
