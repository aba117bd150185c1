"""Dagster wiring shared by every pipeline: partitions, resources, tenant sync."""
