"""Who is calling, for which tenant, allowed to do what.

Two credentials, both `Authorization: Bearer ...`:
- a tenant API token (`gai_...`, ga_intel/api/tokens.py): its tenant, acting as the
  tenant's admin within the token's scopes; audited as `api:<token id> (<name>)`;
- a JWT of the dashboard's OpenID Connect provider (ga_intel/api/oidc.py): the member's
  tenant (`X-GA-Intel-Tenant` when they belong to several), role and branch scope exactly
  as on the Tasks page; audited as the member's email, as the dashboard does.

Unknown, revoked, expired or malformed: 401 `unauthorized`. A scope the credential lacks,
or a tenant the member does not belong to (or that does not exist): 403 `forbidden`, with
one message for both, so neither answer tells whether a tenant exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from ga_intel.api import oidc, tokens
from ga_intel.api.errors import ApiError, unauthorized
from ga_intel.api.ratelimit import Buckets, retry_after

TENANT_HEADER = "X-GA-Intel-Tenant"
# What a member may do through the API by role; an admin may also refresh and manage webhooks.
MEMBER_SCOPES = {
    "admin": tuple(tokens.SCOPES),
    "manager": ("tasks:read", "tasks:write", "metrics:read", "data:read"),
    "rep": ("tasks:read", "tasks:write", "metrics:read", "data:read"),
}


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    email: str  # the member's; for a token, its audit name
    role: str  # admin | manager | rep (task_scope's roles)
    branch: str | None
    scopes: tuple[str, ...]
    kind: str  # token | oidc
    key: str  # the rate-limit bucket: token id or member email

    @property
    def audit_name(self) -> str:
        return self.email


def forbidden(message: str = "this credential may not do that for this tenant", hint: str | None = None) -> ApiError:
    return ApiError(403, "forbidden", message, hint)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise unauthorized()
    return value.strip()


def _from_token(value: str) -> Principal:
    token = tokens.verify(value)
    if token is None:
        raise unauthorized()
    return Principal(
        tenant_id=token.tenant_id,
        email=f"api:{token.token_id} ({token.name})",
        role="admin",
        branch=None,
        scopes=token.scopes,
        kind="token",
        key=token.token_id,
    )


def _from_jwt(value: str, request: Request) -> Principal:
    from ga_intel.tenancy import store

    email = oidc.email_of(value)
    if email is None:
        raise unauthorized()
    memberships = dict(store.members_for(email))
    wanted = request.headers.get(TENANT_HEADER)
    if wanted is None and len(memberships) == 1:
        wanted = next(iter(memberships))
    if wanted is None:
        raise forbidden("say which tenant", hint=f"send the tenant id in the {TENANT_HEADER} header")
    member = memberships.get(wanted)
    if member is None:
        raise forbidden()
    return Principal(
        tenant_id=wanted,
        email=email,
        role=member.role,
        branch=member.branch,
        scopes=MEMBER_SCOPES.get(member.role, ()),
        kind="oidc",
        key=f"oidc:{email}",
    )


def _rate_limited(wait: float, what: str) -> ApiError:
    return ApiError(
        429,
        "rate_limited",
        f"too many {what}",
        hint="wait for Retry-After seconds",
        headers={"Retry-After": retry_after(wait)},
    )


def authenticate(request: Request, buckets: Buckets, failures: Buckets | None = None) -> Principal:
    """The caller; `failures` limits refused credentials per client address (guessing),
    without ever slowing a valid credential from the same address."""
    try:
        value = _bearer(request)
        if value.startswith(tokens.PREFIX):
            principal = _from_token(value)
        elif oidc.looks_like_jwt(value):
            principal = _from_jwt(value, request)
        else:
            raise unauthorized()
    except ApiError as exc:
        if exc.status == 401 and failures is not None:
            wait = failures.take("addr:" + (request.client.host if request.client else "unknown"))
            if wait:
                raise _rate_limited(wait, "refused credentials from this address") from None
        raise
    wait = buckets.take(principal.key)
    if wait:
        raise _rate_limited(wait, "requests for this credential")
    return principal


def require(principal: Principal, scope: str) -> Principal:
    if scope not in principal.scopes:
        raise forbidden(
            f"this credential lacks the scope {scope}",
            hint="create a token with it: ga-intel token create --scope " + scope,
        )
    return principal
