"""Imported only by the fork server of email/isolated.py, never by a parent process.

multiprocessing's children re-run the parent's `__main__` (for the dashboard that is
Streamlit's app script, run as `__main__`) before they start. A template child needs
none of it, so the fork server, and every child forked from it, skips that step."""

from multiprocessing import spawn

import ga_intel.email.render  # noqa: F401  (imported once here, so each child starts at once)

spawn._fixup_main_from_path = lambda main_path: None
spawn._fixup_main_from_name = lambda mod_name: None
