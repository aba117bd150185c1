"""Who is signed in.

Three modes, checked in this order:
1. OpenID Connect through `st.login`, when `.streamlit/secrets.toml` has an `[auth]` section;
2. the dev login, when `GA_INTEL_DEV_LOGIN=1` (local use only: anyone may type any email,
   so every page then carries a warning banner);
3. neither: a page that explains how to configure sign-in, and nothing else.

This module only establishes an email. Which tenants that email may see is decided by
`lib.context` from the control plane, on every rerun.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import streamlit as st

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


def dev_login_active() -> bool:
    """The dev login is used only when no identity provider is configured."""
    return os.environ.get(DEV_FLAG, "").strip().lower() in ("1", "true", "yes") and not oidc_configured()


def dev_banner() -> None:
    if dev_login_active():
        st.warning(DEV_BANNER, icon="⚠️")


# Sub-tables of `[auth]` that are settings of the default provider, not providers.
_DEFAULT_PROVIDER_TABLES = frozenset({"client_kwargs"})


def _providers(section: Mapping) -> list[str | None]:
    """The providers `st.login` can use: None for the one set directly in `[auth]`
    (`client_id`, `server_metadata_url`, …), then each `[auth.<name>]` sub-table."""
    named = [name for name, value in section.items()
             if isinstance(value, Mapping) and name not in _DEFAULT_PROVIDER_TABLES]
    default = [None] if "client_id" in section or not named else []
    return default + named


def _oidc_email() -> str | None:
    if st.user.is_logged_in:
        email = str(st.user.get("email") or "").strip().lower()
        if not email:
            st.error("Your identity provider did not send an email address.")
            st.caption("Hint: request the `email` scope (`client_kwargs = { scope = \"openid email\" }` in `[auth]`).")
            st.button("Log out", on_click=st.logout)
            return None
        if st.user.get("email_verified") is False:
            st.error(f"Your identity provider has not verified {email}; ga-intel only trusts verified addresses.")
            st.button("Log out", on_click=st.logout)
            return None
        st.sidebar.button("Log out", on_click=st.logout)
        return email
    st.title("ga-intel")
    st.write("Sign in with your company account to see your sales intelligence.")
    for provider in _providers(_auth_secrets() or {}):
        label = f"Log in with {provider}" if provider else "Log in"
        st.button(label, type="primary", key=f"login-{provider or 'default'}",
                  on_click=st.login, args=(provider,) if provider else ())
    return None


def _dev_email() -> str | None:
    email = st.sidebar.text_input(
        "Dev login as", value=os.environ.get(DEV_USER, ""), key="dev_login_email",
        placeholder="you@example.com",
        help=f"Only because {DEV_FLAG} is set: no identity provider checks this.",
    ).strip().lower()
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


def signed_in_email() -> str | None:
    """The user's email, lowercased; or None after rendering what they need to sign in."""
    if oidc_configured():
        return _oidc_email()
    if dev_login_active():
        return _dev_email()
    _not_configured()
    return None
