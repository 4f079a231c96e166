"""« Mon compte » (three sections), and the forced password choice after a provisional one."""

from __future__ import annotations

import time

from flask import Blueprint, redirect, render_template, request, session, url_for

from idp.accounts import notifications, profile, reset
from idp.accounts.audit import EVENT_LABELS
from idp.authenticators.base import LoginResult, Outcome
from idp.extensions import db
from idp.interaction import login_state
from idp.interaction.pages import render_error
from idp.interaction.views import guard
from idp.models import Account

bp = Blueprint("account", __name__, url_prefix="/mon-compte")
bp.before_request(guard)

# How long the forced password choice may wait after the login with the provisional one.
PROVISIONAL_WINDOW = 15 * 60
LINK_MESSAGES = {"used": "Ce lien a déjà été utilisé.",
                 "expired": "Ce lien a expiré : refaites la demande depuis « Mon compte ».",
                 "unknown": "Ce lien n'est pas valide."}


def after_password_login(result: LoginResult, ticket: str | None):
    """Called by the login page on success: a provisional password must be replaced first.

    Returns the response to send instead of finishing the login, or None.
    """
    account = db.session.get(Account, result.account_id)
    if account.provisional_expires_at is not None:
        session["provisional_login"] = {"account_id": account.id, "method": result.method,
                                        "acr": result.acr, "amr": list(result.amr),
                                        "auth_time": result.auth_time, "ticket": ticket,
                                        "at": time.time()}
        return redirect(url_for("account.choose_password"), 303)
    notifications.login_notice(account, EVENT_LABELS["login_success"])
    return None


def _finish_login(data: dict):
    """Establish the login held back for the password choice and resume where it was going."""
    login_state.establish_login(LoginResult(
        Outcome.SUCCESS, data["method"], account_id=data["account_id"], acr=data["acr"],
        amr=tuple(data["amr"]), auth_time=data["auth_time"]))
    ticket = data.get("ticket")
    if ticket and login_state.load_pending(ticket):
        login_state.update_pending(ticket, login_at=time.time())
        return redirect(url_for("oauth.resume", ticket=ticket), 303)
    return redirect(url_for("account.home"), 303)


@bp.route("/mot-de-passe-provisoire", methods=["GET", "POST"])
def choose_password():
    """First login with the provisional password: choose the real one before anything else."""
    data = session.get("provisional_login")
    if not data or time.time() - data["at"] > PROVISIONAL_WINDOW:
        session.pop("provisional_login", None)
        return redirect(url_for("interaction.login"), 303)
    account = db.session.get(Account, data["account_id"])
    errors = {}
    if request.method == "POST":
        errors = reset.new_password_problems(account, request.form)
        if not errors:
            reset.replace_password(account, request.form["password"], "password_changed")
            session.pop("provisional_login", None)
            return _finish_login(data)
    return render_template("account_new_password.html", title="Choisissez votre mot de passe",
                           intro="Vous vous êtes connecté avec le mot de passe provisoire reçu "
                                 "par courrier : choisissez maintenant votre mot de passe.",
                           errors=errors), 400 if errors else 200


def _current_account() -> tuple[login_state.LoginState | None, Account | None]:
    current = login_state.current_login()
    account = db.session.get(Account, current.account_id) if current else None
    return current, account


def _page(account: Account, errors: dict | None = None, form=None, status: int = 200):
    return render_template(
        "account_page.html", account=account, places=profile.practice_places(account),
        person=profile.professional(account), specialties=profile.specialties(account),
        events=profile.events(account), errors=errors or {}, form=form or {},
        notice=session.pop("account_notice", None)), status


@bp.get("")
def home():
    """« Mon compte »: informations professionnelles, connexion et sécurité, paramètres."""
    _, account = _current_account()
    if account is None:
        # Back here once logged in (a flag, not a URL: nothing to redirect elsewhere).
        session["login_for_account_page"] = True
        return redirect(url_for("interaction.login"), 303)
    return _page(account)


def _done(notice: str):
    session["account_notice"] = notice
    return redirect(url_for("account.home"), 303)


@bp.post("/email")
def change_email():
    """Ask for a new e-mail address (validated by a link sent to it)."""
    _, account = _current_account()
    if account is None:
        return redirect(url_for("interaction.login"), 303)
    errors = profile.email_change_problems(account, request.form)
    if errors:
        form = {k: request.form.get(k, "")[:254] for k in ("new_email", "new_email_confirm")}
        return _page(account, errors, form, 400)
    new_email = profile.parse_email(request.form["new_email"])
    profile.request_email_change(account, new_email)
    return _done(f"Un e-mail de validation a été envoyé à {new_email}. Votre adresse actuelle "
                 "reste utilisée tant que la nouvelle n'est pas validée.")


@bp.post("/mot-de-passe")
def change_password():
    """Change the password with the current one; other sessions are closed."""
    current, account = _current_account()
    if account is None:
        return redirect(url_for("interaction.login"), 303)
    errors = ({} if profile.check_current_password(account, request.form.get("current_password"))
              else {"current_password": profile.MSG_CURRENT_PASSWORD})
    errors = errors or reset.new_password_problems(account, request.form)
    if errors:
        return _page(account, errors, None, 400)
    reset.replace_password(account, request.form["password"], "password_changed")
    # Every session was just revoked, this one included: keep this browser logged in.
    login_state.establish_login(LoginResult(Outcome.SUCCESS, "password",
                                            account_id=account.id, acr=current.acr,
                                            amr=current.amr, auth_time=current.auth_time))
    return _done("Votre mot de passe a été modifié. Vos autres sessions ont été fermées.")


@bp.post("/parametres")
def settings():
    """« Paramètres de compte »: the login notification switch."""
    _, account = _current_account()
    if account is None:
        return redirect(url_for("interaction.login"), 303)
    profile.set_login_notifications(account, request.form.get("login_notifications") == "on")
    return _done("Vos paramètres de compte sont enregistrés.")


@bp.get(profile.EMAIL_CHANGE_PATH.removeprefix("/mon-compte") + "<token>")
def confirm_email(token: str):
    """The link sent to the new address."""
    outcome = profile.confirm_email_change(token)
    if outcome == "changed":
        return render_template("message.html", title="Adresse e-mail modifiée",
                               message="Votre nouvelle adresse e-mail est validée : elle est "
                                       "désormais celle de votre compte.",
                               link_url=url_for("account.home"), link_label="MON COMPTE")
    return render_error("Lien de validation", LINK_MESSAGES[outcome], 400)
