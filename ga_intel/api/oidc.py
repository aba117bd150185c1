"""Bearer JWTs from the dashboard's OpenID Connect provider.

`GA_INTEL_OIDC_ISSUER` (the provider's issuer URL; its `/.well-known/openid-configuration`
names the JWKS) and `GA_INTEL_OIDC_AUDIENCE` (the client id the tokens are issued for,
the dashboard's `client_id`) switch it on. A token is accepted when its signature checks
against the provider's JWKS (RS/ES/PS algorithms only), `iss` and `aud` match, it has not
expired, and it carries an `email` the provider has not marked unverified. The JWKS is
cached for five minutes and fetched again at once for an unknown key id (a rotation).
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ISSUER_ENV = "GA_INTEL_OIDC_ISSUER"
AUDIENCE_ENV = "GA_INTEL_OIDC_AUDIENCE"
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"]
JWKS_TTL = 300.0


def configured() -> bool:
    return bool(os.environ.get(ISSUER_ENV) and os.environ.get(AUDIENCE_ENV))


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


class _Jwks:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, KeySet]] = {}

    def get(self, issuer: str, refresh: bool = False) -> KeySet:
        with self._lock:
            cached = self._cache.get(issuer)
            if cached and not refresh and time.monotonic() - cached[0] < JWKS_TTL:
                return cached[1]
        meta = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
        keys = KeySet.import_key_set(_get_json(meta["jwks_uri"]))
        with self._lock:
            self._cache[issuer] = (time.monotonic(), keys)
        return keys


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:  # the operator's own provider
        return json.loads(response.read())


_jwks = _Jwks()


def email_of(token: str) -> str | None:
    """The verified email of a valid bearer JWT, else None."""
    if not configured():
        return None
    issuer, audience = os.environ[ISSUER_ENV], os.environ[AUDIENCE_ENV]
    try:
        try:
            decoded = jwt.decode(token, _jwks.get(issuer), algorithms=ALGORITHMS)
        except JoseError:
            decoded = jwt.decode(token, _jwks.get(issuer, refresh=True), algorithms=ALGORITHMS)
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer.rstrip("/")},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError, KeyError, OSError):
        return None
    claims = decoded.claims
    email = str(claims.get("email") or "").strip().lower()
    if not email or claims.get("email_verified") is False:
        return None
    return email
