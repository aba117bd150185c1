"""Tenants: the tenant file, its validation, and encrypted storage of settings."""
