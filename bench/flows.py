"""A browser and relying party in Python, driving either server through the code flow.

Both servers are reached on loopback over plain http. Our issuer is https (production
mode), so URLs it publishes are rewritten to the loopback address, and its Secure cookies
are sent back over http (loopback only) as the TLS proxy would.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote, urlencode, urljoin, urlsplit

import requests

SCOPE = "openid profile email offline_access"
REDIRECT_URI = "https://rp.bench.test/callback"
FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S | re.I)
ACTION = re.compile(r'action="([^"]*)"', re.I)
HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', re.I)


@dataclass
class Target:
    """One server under test, as its relying party sees it."""

    name: str
    base_url: str
    issuer: str
    client_id: str
    client_secret: str
    accounts: list[tuple[str, str]]
    endpoints: dict[str, str] = field(default_factory=dict)

    def discover(self) -> None:
        """Read the endpoints from discovery, pointed at the loopback address."""
        doc = requests.get(self.base_url + "/.well-known/openid-configuration", timeout=10).json()
        for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint",
                     "introspection_endpoint", "jwks_uri"):
            self.endpoints[name] = self.local(doc[name])

    def local(self, url: str) -> str:
        """``url`` with the issuer's origin replaced by the loopback address."""
        parts = urlsplit(url)
        return self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")

    @property
    def basic(self) -> str:
        """The client_secret_basic credentials (RFC 6749 §2.3.1 form-encoding)."""
        raw = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
        return base64.b64encode(raw.encode()).decode()


class FlowError(RuntimeError):
    """A step of the flow got an answer it should not have."""


def pkce_pair() -> tuple[str, str]:
    """A (verifier, S256 challenge) pair."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class Browser:
    """One user agent with its cookies, logging in to ``target``."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.http = requests.Session()

    def close(self) -> None:
        """Drop the connections."""
        self.http.close()

    def authorize(self, credentials: tuple[str, str] | None = None) -> tuple[str, str]:
        """Run the front channel to the callback, logging in when asked; return (code, verifier)."""
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(8)
        url = self.target.endpoints["authorization_endpoint"] + "?" + urlencode(dict(
            response_type="code", client_id=self.target.client_id, redirect_uri=REDIRECT_URI,
            scope=SCOPE, state=state, nonce=secrets.token_urlsafe(8),
            code_challenge=challenge, code_challenge_method="S256"))
        method, data = "GET", None
        for _ in range(8):
            response = self.http.request(method, url, data=data, allow_redirects=False, timeout=30)
            for cookie in self.http.cookies:
                # Send Secure cookies back over http: this is loopback, where the TLS proxy
                # would stand in production.
                cookie.secure = False
            method, data = "GET", None
            if response.status_code in (302, 303):
                location = urljoin(url, response.headers["Location"])
                if location.startswith(REDIRECT_URI):
                    query = parse_qs(urlsplit(location).query)
                    if query.get("state") != [state] or "code" not in query:
                        raise FlowError(f"{self.target.name}: callback {location}")
                    return query["code"][0], verifier
                url = self.target.local(location)
                continue
            form = _password_form(response)
            if form is None or credentials is None:
                raise FlowError(f"{self.target.name}: {response.status_code} at {url}: "
                                f"{response.text[:300]}")
            action, hidden = form
            url = urljoin(url, action) if action else url
            method, data = "POST", {**hidden, "identifier": credentials[0],
                                    "password": credentials[1]}
            credentials = None  # one password per flow: a second form means a refusal
        raise FlowError(f"{self.target.name}: too many redirects")


def _password_form(response) -> tuple[str, dict[str, str]] | None:
    """(action, hidden fields) of the page's password form."""
    if response.status_code != 200:
        return None
    for form in FORM.findall(response.text):
        if 'name="password"' in form:
            action = ACTION.search(form)
            return (action.group(1) if action else ""), dict(HIDDEN.findall(form))
    return None


def exchange(http: requests.Session, target: Target, code: str, verifier: str) -> dict:
    """Redeem a code at the token endpoint with client_secret_basic."""
    response = http.post(target.endpoints["token_endpoint"], timeout=30, data=dict(
        grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI,
        code_verifier=verifier), headers={"Authorization": f"Basic {target.basic}"})
    if response.status_code != 200:
        raise FlowError(f"{target.name}: token {response.status_code} {response.text[:300]}")
    return response.json()


def userinfo(http: requests.Session, target: Target, access_token: str) -> dict:
    """Call UserInfo with a Bearer token."""
    response = http.get(target.endpoints["userinfo_endpoint"], timeout=30,
                        headers={"Authorization": f"Bearer {access_token}"})
    if response.status_code != 200:
        raise FlowError(f"{target.name}: userinfo {response.status_code} {response.text[:300]}")
    return response.json()


def full_login(target: Target, credentials: tuple[str, str]) -> dict:
    """A new browser: authorize, log in with the password, code, token, UserInfo; the claims."""
    browser = Browser(target)
    try:
        code, verifier = browser.authorize(credentials)
        tokens = exchange(browser.http, target, code, verifier)
        return userinfo(browser.http, target, tokens["access_token"])
    finally:
        browser.close()
