"""The versioned HTTP API (docs/API.md): app.py (routes), auth.py (tokens and OIDC JWTs),
tokens.py, oidc.py, ratelimit.py, errors.py, cli.py."""
