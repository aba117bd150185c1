"""A real OpenID provider (oidc-provider-mock) and a real Chromium page for the sign-in tests."""

from __future__ import annotations

MEMBER = "manager@acme.example"
STRANGER = "someone@elsewhere.example"
TIMEOUT = 30_000  # ms, for each wait on the page


def sign_in_at_provider(page, app_url: str, provider: str, email: str) -> None:
    """From the app's sign-in page, through the provider's form, back to the app."""
    page.goto(app_url)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url(f"{provider}/oauth2/authorize*")
    page.get_by_role("heading", name="Authorize Client").wait_for()
    page.locator("input[name=sub]").fill(email)
    page.get_by_role("button", name="Authorize", exact=True).click()
    page.wait_for_url(f"{app_url}/**")
