"""`ga-intel token ...` (tenant API tokens), `ga-intel api serve`, `ga-intel webhook dispatch`."""

from __future__ import annotations

import click

from ga_intel.cli_support import needs_database


@click.group()
def token() -> None:
    """Tenant API tokens (docs/API.md)."""


@token.command("create")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--name", required=True, help="what uses it, e.g. crm")
@click.option(
    "--scope",
    "scopes",
    required=True,
    help="comma-separated: tasks:read, tasks:write, metrics:read, data:read, runs:write, webhooks:write",
)
@needs_database
def token_create(tenant_id: str, name: str, scopes: str) -> None:
    """Create a token; it is printed once and stored only as a hash."""
    from ga_intel.api import tokens

    made, plaintext = tokens.create(tenant_id, name, tokens.parse_scopes(scopes))
    click.echo(plaintext)
    click.echo(
        f"token {made.token_id} for tenant {tenant_id!r} ({', '.join(made.scopes)}): "
        "copy it now, it is not shown again",
        err=True,
    )


@token.command("list")
@click.option("--tenant", "tenant_id", help="only this tenant's")
@needs_database
def token_list(tenant_id: str | None) -> None:
    """List tokens (ids, never the tokens)."""
    from ga_intel.api import tokens

    rows = [("ID", "TENANT", "NAME", "SCOPES", "CREATED", "LAST USED", "REVOKED")]
    fmt = lambda t: t.strftime("%Y-%m-%d %H:%M") if t else "-"  # noqa: E731
    rows += [
        (t.token_id, t.tenant_id, t.name, ",".join(t.scopes), fmt(t.created_at), fmt(t.last_used_at), fmt(t.revoked_at))
        for t in tokens.list_tokens(tenant_id)
    ]
    if len(rows) == 1:
        click.echo("no tokens; create one with `ga-intel token create --tenant ID --name crm --scope tasks:read`")
        return
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


@token.command("revoke")
@click.argument("token_id")
@needs_database
def token_revoke(token_id: str) -> None:
    """Revoke a token by its id (gai_xxxxxxxx); it fails on its next request."""
    from ga_intel.api import tokens
    from ga_intel.errors import GaIntelError

    if not tokens.revoke(token_id):
        raise GaIntelError(f"no live token {token_id[:12]!r}", hint="`ga-intel token list` shows the ids")
    click.echo(f"revoked {token_id[:12]}")


@click.group()
def api() -> None:
    """The HTTP API (docs/API.md)."""


@api.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, envvar="API_PORT")
@click.option(
    "--webhooks/--no-webhooks", default=True, show_default=True, help="also deliver webhooks from this process"
)
@needs_database
def api_serve(host: str, port: int, webhooks: bool) -> None:
    """Serve the API with uvicorn; /docs has the interactive reference."""
    import uvicorn

    from ga_intel.api.app import create_app

    click.echo(f"ga-intel API on http://{host}:{port} (docs: http://{host}:{port}/docs)")
    uvicorn.run(create_app(dispatcher=webhooks), host=host, port=port, log_level="warning")


@click.group()
def webhook() -> None:
    """Webhook deliveries."""


@webhook.command("dispatch")
@needs_database
def webhook_dispatch() -> None:
    """Deliver every due webhook once (the API server does this every few seconds)."""
    from ga_intel.webhooks import deliver

    outcome = deliver.dispatch()
    click.echo(", ".join(f"{k}: {v}" for k, v in sorted(outcome.items())) or "nothing due")
