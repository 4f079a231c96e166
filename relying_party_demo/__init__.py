"""The demo relying party: an amelipro-like portal that logs people in through the IdP.

A separate Flask app and a confidential OpenID Connect client (Authlib's
client), so that everything it shows came through the protocol: the services
offered depend on the claims received, and AAT asks the IdP for a card login
(``acr_values=eidas3``) when the session only has a password.
"""

from __future__ import annotations

import hmac
import secrets
import threading

from authlib.common.urls import add_params_to_uri
from authlib.integrations.flask_client import OAuth
from flask import Flask, abort, redirect, render_template, request, session, url_for

from relying_party_demo import services as catalogue

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
SCOPE = "openid profile email amelipro_centre amelipro_activites"


class Sessions:
    """Server-side store of what the portal knows of each browser (claims can be large)."""

    def __init__(self) -> None:
        self._data: dict[str, dict] = {}
        self._lock = threading.Lock()

    def get(self) -> dict:
        """This browser's data (empty when unknown)."""
        with self._lock:
            return dict(self._data.get(session.get("sid", ""), {}))

    def put(self, data: dict) -> None:
        """Replace this browser's data under a new session id."""
        sid = secrets.token_urlsafe(24)
        with self._lock:
            self._data.pop(session.get("sid", ""), None)
            self._data[sid] = data
        session["sid"] = sid

    def update(self, **fields) -> None:
        """Change some fields of this browser's data."""
        with self._lock:
            if session.get("sid") in self._data:
                self._data[session["sid"]].update(fields)

    def drop(self) -> None:
        """Forget this browser."""
        with self._lock:
            self._data.pop(session.get("sid", ""), None)


def create_app(*, issuer: str, client_id: str, client_secret: str, secret_key: str | None = None,
               scope: str = SCOPE) -> Flask:
    """The RP for an IdP at ``issuer`` with a registered confidential client."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY=secret_key or secrets.token_hex(32),
                      SESSION_COOKIE_NAME="rp_session", SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_HTTPONLY=True)
    oauth = OAuth(app)
    oauth.register(
        "idp", client_id=client_id, client_secret=client_secret,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": scope, "code_challenge_method": "S256",
                       "token_endpoint_auth_method": "client_secret_basic"})
    store = Sessions()

    def csrf_token() -> str:
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(24)
        return session["csrf"]

    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.before_request
    def check_csrf():
        if request.method == "POST" and not hmac.compare_digest(
                session.get("csrf", "").encode(), request.form.get("csrf_token", "").encode()):
            abort(400)

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def current():
        data = store.get()
        if not data:
            return None, None, data
        profile = catalogue.profile_from_claims(data["userinfo"], data.get("acr"))
        activity = next((a for a in profile.activities if a.key == data.get("activity")),
                        profile.activities[0] if profile.activities else None)
        return profile, activity, data

    def start_login(acr: str | None = None, then: str = "/"):
        session["after_login"] = then if then.startswith("/") and not then.startswith("//") else "/"
        extra = {"acr_values": acr} if acr else {}
        return oauth.idp.authorize_redirect(url_for("callback", _external=True), **extra)

    @app.get("/")
    def home():
        """The portal home: the login button, or the services of the logged-in account."""
        profile, activity, data = current()
        if profile is None:
            return render_template("rp_welcome.html")
        services = catalogue.services_for(profile, activity)
        sections = {}
        for service in services:
            sections.setdefault(service.section, []).append(service)
        return render_template("rp_home.html", profile=profile, activity=activity,
                               sections=sections, claims=data["userinfo"], acr=data.get("acr"))

    @app.post("/login")
    def login():
        """Start the OpenID Connect login (PKCE, state and nonce handled by Authlib)."""
        return start_login()

    @app.get("/callback")
    def callback():
        """Finish the login: exchange the code, validate the ID token, call UserInfo."""
        if "error" in request.args:
            return render_template("rp_welcome.html", error=request.args.get("error")), 400
        token = oauth.idp.authorize_access_token()
        id_claims = dict(token["userinfo"])
        userinfo = dict(oauth.idp.userinfo(token=token))
        previous = store.get()
        store.put({"userinfo": userinfo, "acr": id_claims.get("acr"),
                   "auth_time": id_claims.get("auth_time"), "id_token": token["id_token"],
                   "activity": previous.get("activity")})
        return redirect(session.pop("after_login", "/"), 303)

    @app.post("/activite")
    def choose_activity():
        """Act for another of the professional's practices."""
        profile, _, _ = current()
        key = request.form.get("activity", "")
        if profile is None or key not in {a.key for a in profile.activities}:
            abort(400)
        store.update(activity=key)
        return redirect(url_for("home"), 303)

    @app.get("/service/<code>")
    def service(code: str):
        """A service page; AAT first sends a password session back to the IdP for the card."""
        profile, activity, data = current()
        if profile is None:
            return redirect(url_for("home"), 303)
        chosen = catalogue.SERVICES.get(code)
        if chosen is None or chosen not in catalogue.services_for(profile, activity):
            return render_template("rp_forbidden.html", profile=profile), 403
        if catalogue.needs_card(chosen, profile):
            return start_login(acr=catalogue.CARD_LEVEL, then=url_for("service", code=code))
        return render_template("rp_service.html", profile=profile, activity=activity,
                               service=chosen, claims=data["userinfo"], acr=data.get("acr"),
                               auth_time=data.get("auth_time"))

    @app.post("/logout")
    def logout():
        """RP-initiated logout at the IdP, back to the home page."""
        data = store.get()
        store.drop()
        session.clear()
        if not data:
            return redirect(url_for("home"), 303)
        end_session = oauth.idp.load_server_metadata().get("end_session_endpoint")
        return redirect(add_params_to_uri(end_session, [
            ("id_token_hint", data["id_token"]),
            ("post_logout_redirect_uri", url_for("home", _external=True))]), 303)

    return app
