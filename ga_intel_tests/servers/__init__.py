"""Real servers for the suite, started on 127.0.0.1 by fixtures (see fixtures.py)."""
