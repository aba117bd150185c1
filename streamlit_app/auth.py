"""Who is signed in.

Three modes, checked in this order:
1. OpenID Connect through `st.login`, when `.streamlit/secrets.toml` has an `[auth]` section;
2. the dev login, when `GA_INTEL_DEV_LOGIN=1` (local use only: anyone may type any email,
   so every page then carries a warning banner). It fails closed: refused unless the
   dashboard binds to loopback and the database is the embedded one;
3. neither: a page that explains how to configure sign-in, and nothing else.

This module only establishes an identity: an email the provider vouches for (finding 3:
`email_verified` true, or an issuer and domain the operator trusts), with the token's
issuer and subject. Which tenants it may see is decided by `lib.context` from the control
plane on every rerun, where memberships are bound to (issuer, subject) at first sign-in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st

from ga_intel import settings

DEV_FLAG = "GA_INTEL_DEV_LOGIN"
DEV_USER = "GA_INTEL_DEV_USER"
DEV_BANNER = "Dev login is on — no identity provider checks who you are. Never use this in production."


def _auth_secrets() -> Mapping | None:
    try:
        section = st.secrets.get("auth")
    except FileNotFoundError:  # no secrets.toml at all
        return None
    except Exception:  # a malformed secrets.toml must not fall through to the dev login silently
        st.error("`.streamlit/secrets.toml` cannot be read; fix it to enable sign-in.")
        st.stop()
    return section if isinstance(section, Mapping) else None


def oidc_configured() -> bool:
    return _auth_secrets() is not None


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def dev_login_requested() -> bool:
    """GA_INTEL_DEV_LOGIN is set and no identity provider is configured (which would win)."""
    return os.environ.get(DEV_FLAG, "").strip().lower() in ("1", "true", "yes") and not oidc_configured()


def dev_login_refusal() -> str | None:
    """Why the dev login may not be used here, or None. It fails closed: only a dashboard
    bound to loopback, on the embedded database (or a loopback database the test suite
    made, `ga_intel_test_*`), is a developer's machine rather than a deployment."""
    import streamlit as st

    from ga_intel import settings

    address = str(st.get_option("server.address") or "").strip().strip("[]")
    if address not in LOOPBACK:
        return (
            f"the dashboard listens on {address or 'every interface'}, not only on loopback: start it with "
            "`--server.address 127.0.0.1` (as `make dev` does)"
        )
    urls = settings.database_urls()
    host = str(urls.platform.host or "")
    if not urls.embedded and not (host in LOOPBACK and str(urls.platform.database or "").startswith("ga_intel_test_")):
        return (
            "the database is not the embedded one (GA_INTEL_DATABASE_URL is set): a shared database means a "
            "deployment, which needs a real identity provider"
        )
    return None


def dev_login_active() -> bool:
    """The dev login is used only when requested, with no identity provider, where allowed."""
    return dev_login_requested() and dev_login_refusal() is None


def dev_banner() -> None:
    if dev_login_active():
        st.warning(DEV_BANNER, icon="⚠️")


# Sub-tables of `[auth]` that are settings of the default provider, not providers.
_DEFAULT_PROVIDER_TABLES = frozenset({"client_kwargs"})


def _providers(section: Mapping) -> list[str | None]:
    """The providers `st.login` can use: None for the one set directly in `[auth]`
    (`client_id`, `server_metadata_url`, …), then each `[auth.<name>]` sub-table."""
    named = [
        name for name, value in section.items() if isinstance(value, Mapping) and name not in _DEFAULT_PROVIDER_TABLES
    ]
    default = [None] if "client_id" in section or not named else []
    return default + named


@dataclass(frozen=True)
class Identity:
    """Who signed in: an email, and for OIDC the (issuer, subject) that memberships bind to."""

    email: str
    issuer: str | None = None
    subject: str | None = None


def email_trusted(claims: Mapping, email: str) -> str | None:
    """None when the email claim can be trusted; else why not (finding 3).

    Trusted: `email_verified` is true, or the operator lists this issuer and the email's
    domain in GA_INTEL_OIDC_TRUSTED_DOMAINS. A missing `email_verified` is not true: some
    providers (Entra ID, for one) send none and let users edit their email.
    """
    verified = claims.get("email_verified")
    if verified is True or (isinstance(verified, str) and verified.strip().lower() == "true"):
        return None
    issuer = str(claims.get("iss") or "").rstrip("/")
    domain = email.rpartition("@")[2]
    if domain and domain in settings.oidc_trusted_domains().get(issuer, frozenset()):
        return None
    said = "says it is not verified" if verified is False else "does not say it is verified"
    return (
        f"Your identity provider {said} ({email}), and its issuer is not trusted for the domain "
        f"{domain or '(none)'}; ga-intel only trusts verified addresses."
    )


def _oidc_identity() -> Identity | None:
    if st.user.is_logged_in:
        claims = st.user.to_dict()
        email = str(claims.get("email") or "").strip().lower()
        issuer = str(claims.get("iss") or "").strip()
        subject = str(claims.get("sub") or "").strip()
        if not email:
            st.error("Your identity provider did not send an email address.")
            st.caption('Hint: request the `email` scope (`client_kwargs = { scope = "openid email" }` in `[auth]`).')
            st.button("Log out", on_click=st.logout)
            return None
        if not issuer or not subject:
            st.error(
                "Your identity provider's token has no issuer (`iss`) or subject (`sub`); ga-intel cannot "
                "tell who you are."
            )
            st.button("Log out", on_click=st.logout)
            return None
        try:
            refusal = email_trusted(claims, email)
        except ValueError as exc:  # the operator's setting is malformed: refuse, and say what to fix
            refusal = str(exc)
        if refusal:
            st.error(refusal)
            st.caption("Hint for the operator: docs/SECURITY.md, section 3 (GA_INTEL_OIDC_TRUSTED_DOMAINS).")
            st.button("Log out", on_click=st.logout)
            return None
        st.sidebar.button("Log out", on_click=st.logout)
        return Identity(email, issuer, subject)
    st.title("ga-intel")
    st.write("Sign in with your company account to see your sales intelligence.")
    for provider in _providers(_auth_secrets() or {}):
        label = f"Log in with {provider}" if provider else "Log in"
        st.button(
            label,
            type="primary",
            key=f"login-{provider or 'default'}",
            on_click=st.login,
            args=(provider,) if provider else (),
        )
    return None


def _dev_email() -> str | None:
    email = (
        st.sidebar.text_input(
            "Dev login as",
            value=os.environ.get(DEV_USER, ""),
            key="dev_login_email",
            placeholder="you@example.com",
            help=f"Only because {DEV_FLAG} is set: no identity provider checks this.",
        )
        .strip()
        .lower()
    )
    if not email:
        st.title("ga-intel")
        st.info("Dev login: type the email of a tenant member in the sidebar.")
        return None
    return email


def _not_configured() -> None:
    st.title("ga-intel")
    st.error("Sign-in is not configured.")
    st.markdown(
        "Configure an OpenID Connect provider in `.streamlit/secrets.toml` under `[auth]` "
        "(`redirect_uri`, `cookie_secret`, `client_id`, `client_secret`, `server_metadata_url`; "
        "see Streamlit's `st.login` documentation), then restart the app.\n\n"
        f"For local development only, start the app with `{DEV_FLAG}=1` (and optionally "
        f"`{DEV_USER}=<email>`) to sign in as any member without a provider."
    )


def signed_in() -> Identity | None:
    """Who is signed in (email lowercased); or None after rendering what they need to sign in."""
    if oidc_configured():
        return _oidc_identity()
    if dev_login_requested():
        refusal = dev_login_refusal()
        if refusal:
            st.title("ga-intel")
            st.error(f"{DEV_FLAG} is set, but the dev login is refused: {refusal}.")
            st.caption(
                "The dev login lets anyone sign in as anyone; configure an OpenID Connect provider "
                "(`[auth]` in `.streamlit/secrets.toml`) for any real deployment."
            )
            return None
        email = _dev_email()
        return Identity(email) if email else None
    _not_configured()
    return None
