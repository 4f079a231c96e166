"""The demo portal keeps logging people in while the IdP's signing keys rotate.

Both servers run for real on loopback (werkzeug); a requests session plays the browser.
The portal (Authlib's client) caches the JWKS; after two forced rotations the ID token is
signed by a key it has never seen, and it must fetch the JWKS again rather than fail.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from conftest import OIDC, PASSWORD, csrf_of
from werkzeug.serving import make_server

import relying_party_demo

EMAIL = "direction@cds.example.fr"


@contextmanager
def _served(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


class _Late:
    """A WSGI app set once the servers' ports (issuer, redirect URI) are known."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


def _log_in(rp_url: str, issuer: str) -> requests.Response:
    browser = requests.Session()
    welcome = browser.get(rp_url + "/", timeout=10)
    login = browser.post(rp_url + "/login", data={"csrf_token": csrf_of(welcome.text)}, timeout=10)
    assert login.url.startswith(issuer + "/login"), login.url
    return browser.post(login.url, timeout=30, data={
        "csrf_token": csrf_of(login.text), "identifier": EMAIL, "password": PASSWORD})


def test_portal_logins_survive_two_key_rotations(make_app):
    idp_app, rp_app = _Late(), _Late()
    with _served(idp_app) as issuer, _served(rp_app) as rp_url:
        idp_app.app = app = make_app(IDP_ISSUER=issuer)
        oidc = OIDC(app, app.test_client())
        client_id, secret = oidc.register_client(
            redirect_uris=[f"{rp_url}/callback"], first_party=True,
            scope="openid profile email amelipro_centre")
        oidc.create_centre(email=EMAIL)
        rp_app.app = relying_party_demo.create_app(issuer=issuer, client_id=client_id,
                                                   client_secret=secret)
        keys = app.extensions["idp"].keys
        with app.app_context():
            before = keys.signing_key().kid

        home = _log_in(rp_url, issuer)
        assert home.url == rp_url + "/" and "CENTRE DE SANTE TEST" in home.text

        with app.app_context():
            keys.rotate(force=True)
            keys.rotate(force=True)  # the new current key was not in the portal's JWKS
            after = keys.signing_key().kid
        assert after != before

        home = _log_in(rp_url, issuer)
        assert home.url == rp_url + "/", home.text[:500]
        assert "CENTRE DE SANTE TEST" in home.text
