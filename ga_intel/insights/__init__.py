"""What the sales team acts on: metrics per tenant × day (and branch), and tasks.

sql/       the computations, in PostgreSQL over the GA4 and master-data tables
metrics.py daily_metrics, location_daily_metrics, search_terms_daily, bounced pages
tasks.py   task candidates -> upsert that never resets a person's status; auto-close
assets.py  the Dagster assets and checks
"""
