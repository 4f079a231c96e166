"""Small helpers shared by the tests of the protocol endpoints (tests/oauth).

Not a test module: imported by the ``test_oauth_*.py`` files of this folder.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time as _real_time
from urllib.parse import parse_qs, urlsplit

from clock_support import Clock
from conftest import PASSWORD, REDIRECT_URI, csrf_of
from joserfc import jwt
from joserfc.jwk import KeySet

OTHER_REDIRECT_URI = "https://other-rp.test/callback"

# Modules that read the clock through their own ``time`` global.
CLOCK_MODULES = (
    "idp.oauth.storage", "idp.oauth.prompt", "idp.oauth.id_token", "idp.oauth.mixins",
    "idp.oauth.server", "idp.authenticators.password", "idp.interaction.login_state",
    "idp.interaction.views",
)


def install_clock(monkeypatch, start: int | None = None) -> Clock:
    """Replace the clock of the IdP modules by a fake one starting at ``start``."""
    clock = Clock(start if start is not None else int(_real_time.time()))
    for module in CLOCK_MODULES:
        monkeypatch.setattr(f"{module}.time", clock)
    return clock


def location(response) -> str:
    """The Location header (fails when there is none)."""
    assert "Location" in response.headers, (response.status_code,
                                            response.get_data(as_text=True)[:300])
    return response.headers["Location"]


def is_login_redirect(response) -> bool:
    """True when the response sends the browser to the login page."""
    return (response.status_code == 303
            and urlsplit(response.headers.get("Location", "")).path == "/login")


def is_consent_redirect(response) -> bool:
    """True when the response sends the browser to the consent page."""
    return (response.status_code == 303
            and urlsplit(response.headers.get("Location", "")).path == "/consent")


def rp_redirect(response, redirect_uri: str = REDIRECT_URI) -> dict[str, str]:
    """The query of a 302/303 redirect to the relying party (asserting it is one)."""
    assert response.status_code in (302, 303), (response.status_code,
                                          response.get_data(as_text=True)[:500])
    target = location(response)
    parts = urlsplit(target)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == redirect_uri, target
    assert not parts.fragment, target
    return {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}


def assert_error_page(response, status: int = 400) -> None:
    """Our own HTML error page: the right status and no redirect at all."""
    assert response.status_code == status, (response.status_code, response.headers)
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"


def login(oidc, response, identifier: str = "kit.doc@example.fr", password: str = PASSWORD):
    """From a redirect to the login page, log in and follow back; return the next response."""
    assert is_login_redirect(response), (response.status_code, response.headers)
    posted = oidc.login(location(response), identifier, password)
    assert posted.status_code == 303, posted.get_data(as_text=True)[:500]
    return oidc.client.get(location(posted))


def answer_consent(oidc, response, decision: str):
    """From a redirect to the consent page, answer it; return the response after resuming."""
    assert is_consent_redirect(response), (response.status_code, response.headers)
    page = oidc.client.get(location(response))
    assert page.status_code == 200
    posted = oidc.client.post(location(response), data={
        "csrf_token": csrf_of(page.get_data(as_text=True)), "decision": decision})
    assert posted.status_code == 303
    return oidc.client.get(location(posted))


def authorize(oidc, client_id: str, **extra):
    """GET /authorize with PKCE; return (response, params, verifier)."""
    params, verifier = oidc.authorize_params(client_id, **extra)
    return oidc.start(params), params, verifier


def log_in_browser(oidc, client_id: str, identifier: str = "kit.doc@example.fr", **extra):
    """Log the browser in through a first authorization; return (query, params, verifier)."""
    response, params, verifier = authorize(oidc, client_id, **extra)
    if is_login_redirect(response):
        response = login(oidc, response, identifier)
    return rp_redirect(response), params, verifier


def token_response(oidc, client_id, secret, code, verifier, http=None, **overrides):
    """POST /token for a code, with ``overrides`` applied to the form; return the response."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier}
    data.update(overrides)
    data = {k: v for k, v in data.items() if v is not None}
    auth = (client_id, secret) if secret else None
    if not secret:
        data.setdefault("client_id", client_id)
    return (http or oidc.client).post("/token", data=data, auth=auth)


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a Bearer token."""
    return {"Authorization": f"Bearer {token}"}


def userinfo_status(oidc, access_token: str) -> int:
    """The status of a UserInfo GET with this access token."""
    return oidc.client.get("/userinfo", headers=bearer(access_token)).status_code


def assert_oauth_error(response, error: str, status: int = 400) -> None:
    """A JSON OAuth error response of the token-style endpoints."""
    assert response.status_code == status, (response.status_code,
                                            response.get_data(as_text=True))
    assert response.get_json()["error"] == error, response.get_json()


def decode_id_token(http, id_token: str):
    """Verify an ID token with the published JWKS; return the joserfc token (header, claims)."""
    keys = KeySet.import_key_set(http.get("/jwks").get_json())
    return jwt.decode(id_token, keys, algorithms=["RS256"])


def id_token_claims(http, id_token: str) -> dict:
    """The verified claims of an ID token."""
    return dict(decode_id_token(http, id_token).claims)


def at_hash(access_token: str) -> str:
    """The at_hash of an access token for RS256 (left half of SHA-256, base64url)."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def run_concurrently(count: int, action) -> list:
    """Run ``action(index)`` in ``count`` threads released together; return their results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = action(index)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results

