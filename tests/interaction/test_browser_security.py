"""Browser-facing security: headers on every page, the session cookie, 303 after POST,
session fixation, idle and absolute session ends, server-side logout."""

import time

import pytest
from conftest import OIDC, PASSWORD, POST_LOGOUT_URI, REDIRECT_URI, csrf_of

from idp.interaction import sessions

COOKIE = "idp_session"


def session_key(sid: str) -> str:
    return f"idp:session:{sid}"


def sid_of(http) -> str | None:
    cookie = http.get_cookie(COOKIE)
    return cookie.value if cookie else None


def session_cookie_header(response) -> str:
    found = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "=")]
    assert len(found) == 1, response.headers.getlist("Set-Cookie")
    return found[0]


def cookie_attributes(header: str) -> dict[str, str]:
    attributes = {}
    for part in header.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        attributes[name.lower()] = value
    return attributes


def post_form(http, url: str, page, **fields):
    """Post a form of ``page`` (a response) with its CSRF token."""
    return http.post(url, data={"csrf_token": csrf_of(page.get_data(as_text=True)), **fields})


def log_in(http, identifier="kit.doc@example.fr", password=PASSWORD):
    """Log in on the stand-alone login page; return the POST response."""
    return post_form(http, "/login", http.get("/login"), identifier=identifier, password=password)


def signed_in(http) -> bool:
    return http.get("/connecte").status_code == 200


@pytest.fixture
def account(oidc):
    return oidc.create_ps()


def assert_browser_headers(response, https=True):
    where = f"{response.request.method} {response.request.path} -> {response.status_code}"
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {d.strip().split(" ", 1)[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", where
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, where
    assert "default-src" in directives, where
    assert response.headers.get("X-Frame-Options") == "DENY", where
    assert response.headers.get("Referrer-Policy") == "no-referrer", where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    hsts = response.headers.get("Strict-Transport-Security")
    if https:
        assert hsts and "max-age=" in hsts and int(hsts.split("max-age=")[1].split(";")[0]) > 0, \
            where
    else:
        assert hsts is None, where


def html_responses(app, oidc):
    """One of each kind of HTML page a browser may get, in a realistic order."""
    client_id, _ = oidc.register_client(first_party=False)
    http = oidc.client
    seen = []

    def keep(response):
        seen.append(response)
        return response

    params, _ = oidc.authorize_params(client_id)
    login_url = keep(oidc.start(params)).headers["Location"]
    page = keep(http.get(login_url))
    keep(post_form(http, login_url, page, identifier="kit.doc@example.fr", password="wrong"))
    keep(http.post(login_url, data={"identifier": "x", "password": "y"}))  # no CSRF token
    logged_in = keep(post_form(http, login_url, page, identifier="kit.doc@example.fr",
                               password=PASSWORD))
    consent_url = keep(http.get(logged_in.headers["Location"])).headers["Location"]
    keep(http.get(consent_url))
    keep(http.get("/connecte"))
    keep(http.get("/mot-de-passe-oublie"))
    keep(http.get("/creer-un-compte"))
    keep(http.get("/authorize", query_string={"client_id": "nobody", "response_type": "code"}))
    keep(http.get("/login", query_string={"ticket": "expired"}))
    keep(http.get("/no-such-page"))
    confirm = keep(http.get("/logout"))
    keep(post_form(http, "/logout", confirm, decision="logout"))
    return [r for r in seen if r.mimetype == "text/html"]


def test_every_html_response_carries_the_security_headers(app, oidc, account):
    responses = html_responses(app, oidc)
    assert {r.status_code for r in responses} >= {200, 400, 404}
    assert len(responses) >= 12
    for response in responses:
        assert_browser_headers(response)


def test_http_issuer_gets_no_hsts_and_no_secure_cookie(make_app):
    app = make_app(IDP_ISSUER="http://127.0.0.1:5000")
    response = app.test_client().get("/login")
    assert_browser_headers(response, https=False)
    attributes = cookie_attributes(session_cookie_header(response))
    assert "secure" not in attributes
    assert "httponly" in attributes
    assert attributes.get("samesite", "").lower() == "lax"


def test_session_cookie_is_httponly_samesite_lax_and_secure(client):
    attributes = cookie_attributes(session_cookie_header(client.get("/login")))
    assert "httponly" in attributes
    assert "secure" in attributes
    assert attributes.get("samesite", "").lower() == "lax"
    assert attributes.get("path") == "/"


def test_redirects_after_post_are_303(oidc, account):
    client_id, _ = oidc.register_client(first_party=False)
    http = oidc.client
    params, _ = oidc.authorize_params(client_id)
    login_url = oidc.start(params).headers["Location"]
    logged_in = post_form(http, login_url, http.get(login_url),
                          identifier="kit.doc@example.fr", password=PASSWORD)
    assert logged_in.status_code == 303
    consent_url = http.get(logged_in.headers["Location"]).headers["Location"]
    consented = post_form(http, consent_url, http.get(consent_url), decision="allow")
    assert consented.status_code == 303
    back = http.get(consented.headers["Location"])
    assert back.headers["Location"].startswith(REDIRECT_URI)
    logout = post_form(http, "/logout", http.get("/logout"), decision="logout",
                       client_id=client_id, post_logout_redirect_uri=POST_LOGOUT_URI)
    assert logout.status_code == 303
    assert logout.headers["Location"].startswith(POST_LOGOUT_URI)
    # The stand-alone login page too.
    assert log_in(oidc.app.test_client()).status_code == 303


def test_session_id_changes_at_login(app, client, account):
    page = client.get("/login")
    before = sid_of(client)
    assert before and app.extensions["redis"].exists(session_key(before))
    assert post_form(client, "/login", page, identifier="kit.doc@example.fr",
                     password=PASSWORD).status_code == 303
    after = sid_of(client)
    assert after and after != before
    assert not app.extensions["redis"].exists(session_key(before))
    assert signed_in(client)
    # Whoever knew the old id (a planted cookie) is not logged in.
    planted = app.test_client()
    planted.set_cookie(COOKIE, before)
    assert not signed_in(planted)


def test_session_ends_after_the_idle_ttl(make_app):
    app = make_app(IDP_SESSION_IDLE_TTL=1)
    http = app.test_client()
    OIDC(app, http).create_ps()
    response = log_in(http)
    assert response.status_code == 303
    assert cookie_attributes(session_cookie_header(response)).get("max-age") == "1"
    assert 0 < app.extensions["redis"].pttl(session_key(sid_of(http))) <= 1000
    assert signed_in(http)
    time.sleep(1.3)
    assert not signed_in(http)


class ShiftedClock:
    """Stands for the ``time`` module of idp.interaction.sessions, some seconds ahead."""

    def __init__(self, offset: float):
        self.offset = offset

    def time(self) -> float:
        return time.time() + self.offset


def test_session_ends_after_the_absolute_ttl_despite_activity(app, client, account, monkeypatch):
    absolute = app.config["IDP_SETTINGS"].session_absolute_ttl
    assert absolute == 4 * 3600
    assert log_in(client).status_code == 303
    monkeypatch.setattr(sessions, "time", ShiftedClock(absolute - 60))
    assert signed_in(client)  # active all along: still there, with at most 60 s left
    assert app.extensions["redis"].ttl(session_key(sid_of(client))) <= 60
    monkeypatch.setattr(sessions, "time", ShiftedClock(absolute + 1))
    assert not signed_in(client)


def test_logout_deletes_the_server_side_session(app, client, account):
    assert log_in(client).status_code == 303
    sid = sid_of(client)
    assert app.extensions["redis"].exists(session_key(sid))
    confirm = client.get("/logout")
    assert confirm.status_code == 200
    done = post_form(client, "/logout", confirm, decision="logout")
    assert done.status_code == 200
    assert not app.extensions["redis"].exists(session_key(sid))
    assert sid_of(client) is None  # the cookie was cleared
    replay = app.test_client()
    replay.set_cookie(COOKIE, sid)
    assert not signed_in(replay)
