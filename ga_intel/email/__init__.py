"""Branch-by-branch email reports: content, rendering, the delivery ledger and sending
exactly once (docs/EMAIL.md)."""
