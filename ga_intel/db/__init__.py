"""Database access: the one layer every part of ga-intel reads and writes through."""

from ga_intel.db.engine import control, engine, tenant_scope

__all__ = ["control", "engine", "tenant_scope"]
