"""Webhooks: task events POSTed to URLs a tenant registered, signed, retried, recorded.

- endpoints.py: register, list, remove (secrets encrypted with ga_intel/crypto);
- signing.py: the signature a receiver checks;
- deliver.py: the dispatcher working the ledger `tenant_data.webhook_deliveries`, whose
  rows the triggers of migration 0014 write in the transaction that changes a task.
"""
