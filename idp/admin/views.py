"""The back-office pages (/back-office): separate login, search, enrollments, account actions.

An adviser's login lives in the browser session under its own key, never as a
professional's login; "lecteur" advisers may search and read, not act.
"""

from __future__ import annotations

import time
from functools import wraps

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from redis.exceptions import RedisError
from sqlalchemy import select

from idp.accounts import audit
from idp.admin import accounts, actions
from idp.extensions import db
from idp.interaction.pages import service_unavailable
from idp.interaction.views import guard
from idp.models import (
    Account,
    AdminAccount,
    Enrollment,
    Establishment,
    Identifier,
    Professional,
)

bp = Blueprint("admin", __name__, url_prefix="/back-office")
bp.before_request(guard)

# An adviser's login ends after this long without being renewed by a new login.
ADMIN_SESSION_TTL = 8 * 3600
WRONG = "Identifiant ou mot de passe incorrect."


def current_admin() -> AdminAccount | None:
    """The adviser logged in on this browser, if any."""
    data = session.get("admin")
    if not data or time.time() - data["at"] > ADMIN_SESSION_TTL:
        return None
    admin = db.session.get(AdminAccount, data["id"])
    return admin if admin and admin.active else None


def require_admin(acting: bool = False):
    """Decorator: an adviser must be logged in; ``acting`` pages need the conseiller role."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            admin = current_admin()
            if admin is None:
                return redirect(url_for("admin.login"), 303)
            if acting and admin.role != "conseiller":
                abort(403)
            return view(admin, *args, **kwargs)
        return wrapper
    return decorate


@bp.route("/connexion", methods=["GET", "POST"])
def login():
    """The advisers' own login page."""
    errors, username = {}, ""
    if request.method == "POST":
        username = request.form.get("username", "")[:64]
        try:
            admin, locked = accounts.authenticate(username, request.form.get("password", "")[:1024])
        except RedisError:
            return service_unavailable()
        if admin is None:
            errors = {"form": f"Compte bloqué : réessayez dans {locked} min." if locked else WRONG}
            audit.record("admin_login_failure", None, "admin", admin=username.strip().lower())
        else:
            session.rotate()
            session["admin"] = {"id": admin.id, "at": time.time()}
            audit.record("admin_login", None, "admin", admin=admin.username)
            return redirect(url_for("admin.search"), 303)
    return render_template("admin_login.html", errors=errors, username=username), (
        400 if errors else 200)


@bp.post("/deconnexion")
def logout():
    """End the adviser's login."""
    session.pop("admin", None)
    return redirect(url_for("admin.login"), 303)


@bp.get("")
@require_admin()
def search(admin):
    """Search professionals by RPPS, numéro AM or name; look a centre up by FINESS."""
    query = request.args.get("q", "")[:100]
    return render_template("admin_search.html", admin=admin, query=query,
                           results=actions.search(query) if query else None)


def _person_page(admin, professional: Professional, errors=None, status: int = 200):
    return render_template(
        "admin_person.html", admin=admin, person=professional,
        account=actions.account_of(professional),
        enrollments=actions.enrollments_of_person(professional), errors=errors or {},
        form=request.form, professions=actions.PROFESSIONS,
        notice=session.pop("admin_notice", None)), status


@bp.get("/professionnel/<national_id>")
@require_admin()
def person(admin, national_id: str):
    """A professional: referential identity, account, enrollments, and the action forms."""
    return _person_page(admin, db.session.get(Professional, national_id[:12]) or abort(404))


def _act(admin, professional: Professional, action):
    try:
        action()
    except actions.ActionError as exc:
        db.session.rollback()
        return _person_page(admin, professional, {exc.field: str(exc)}, 400)
    db.session.commit()
    return redirect(url_for("admin.person", national_id=professional.national_id), 303)


@bp.post("/professionnel/<national_id>/inscrire")
@require_admin(acting=True)
def enroll(admin, national_id: str):
    """Enroll the professional in a centre de santé."""
    professional = db.session.get(Professional, national_id[:12]) or abort(404)
    return _act(admin, professional, lambda: actions.enroll(admin, professional, request.form))


@bp.post("/inscription/<int:enrollment_id>/fin")
@require_admin(acting=True)
def end(admin, enrollment_id: int):
    """End an enrollment."""
    enrollment = db.session.get(Enrollment, enrollment_id) or abort(404)
    professional = db.session.scalar(select(Professional).where(
        Professional.identifier == enrollment.person_id)) or abort(404)
    return _act(admin, professional,
                lambda: actions.end_enrollment(admin, enrollment, request.form.get("end_date")))


@bp.get("/centre/<finess>")
@require_admin()
def centre(admin, finess: str):
    """A centre: its referential data, its account and its enrolled staff."""
    establishment = db.session.get(Establishment, finess[:9]) or abort(404)
    account = db.session.scalar(select(Account).join(Identifier).where(
        Identifier.kind == "finess", Identifier.value == establishment.finess))
    return render_template("admin_centre.html", admin=admin, establishment=establishment,
                           account=account, staff=actions.staff(establishment.finess),
                           notice=session.pop("admin_notice", None))


@bp.post("/compte/<int:account_id>/<action>")
@require_admin(acting=True)
def account_action(admin, account_id: int, action: str):
    """Unlock an account, or post a new provisional-password letter to a centre."""
    account = db.session.get(Account, account_id) or abort(404)
    handlers = {"debloquer": actions.unlock, "courrier": actions.resend_letter}
    if action not in handlers:
        abort(404)
    try:
        handlers[action](admin, account)
    except actions.ActionError as exc:
        db.session.rollback()
        session["admin_notice"] = str(exc)
    else:
        db.session.commit()
        session["admin_notice"] = ("Compte débloqué." if action == "debloquer" else
                                   "Un nouveau courrier a été envoyé au centre.")
    return redirect(request.form.get("back") if request.form.get("back", "").startswith(
        "/back-office/") else url_for("admin.search"), 303)
