"""Helpers shared by test modules (no tests here)."""
