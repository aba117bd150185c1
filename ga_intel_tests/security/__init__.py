"""Attacks on the tenant wall and on a tenant's day, each against the real servers (issue 15)."""
