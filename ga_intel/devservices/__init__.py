"""Local stand-ins for tenants' external services, for the tests and the demo:
an SMTP sink with STARTTLS and AUTH, and the BigQuery emulator."""
