"""Shared helpers for the dashboard's pages."""
