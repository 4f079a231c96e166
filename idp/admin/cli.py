"""``idp admins create|enroll``: back-office accounts, and enrollments from the command line."""

from __future__ import annotations

import click

from idp.admin import ROLES


@click.group()
def admins() -> None:
    """Back-office accounts of the CPAM's IT advisers (CIS)."""


@admins.command("create")
@click.option("--username", required=True, help="Login of the adviser.")
@click.option("--name", "display_name", required=True, help="Name shown in the audit trail.")
@click.option("--role", type=click.Choice(ROLES), default="conseiller", show_default=True,
              help="conseiller: every action; lecteur: search and read only.")
@click.option("--password", help="Password (policy applies); default: prompt.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def create(username: str, display_name: str, role: str, password: str | None,
           as_json: bool) -> None:
    """Create a back-office account."""
    from idp.admin.accounts import AdminError, create_admin
    from idp.cli import migrated_app, print_result

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with migrated_app():
        try:
            admin = create_admin(username, display_name, role, password)
        except AdminError as exc:
            raise click.ClickException(str(exc)) from None
        out = {"username": admin.username, "role": admin.role}
    print_result(out, as_json, f"back-office account {out['username']} created "
                               f"(role {out['role']})")


@admins.command("enroll")
@click.option("--as", "username", required=True,
              help="The adviser acting (role conseiller), named in the audit trail.")
@click.option("--person", "national_id", required=True,
              help="National id of the professional in the RPPS referential: 8+RPPS or 0+ADELI.")
@click.option("--finess", required=True, help="FINESS of the centre de santé.")
@click.option("--profession", type=click.Choice(["10", "60"]), required=True,
              help="10: médecin, 60: infirmier.")
@click.option("--start", "start_date", required=True, help="First day, YYYY-MM-DD.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def enroll(username: str, national_id: str, finess: str, profession: str, start_date: str,
           as_json: bool) -> None:
    """Enroll a salaried professional in a centre de santé (as the back-office does)."""
    from sqlalchemy import select

    from idp.admin import actions
    from idp.cli import migrated_app, print_result
    from idp.extensions import db
    from idp.models import AdminAccount, Professional

    with migrated_app():
        admin = db.session.scalar(select(AdminAccount).where(AdminAccount.username == username))
        if admin is None or not admin.active or admin.role != "conseiller":
            raise click.ClickException(f"{username!r} is not an active adviser with the "
                                       "conseiller role")
        person = db.session.get(Professional, national_id.strip()[:12])
        if person is None:
            raise click.ClickException(f"{national_id!r} is not in the RPPS referential "
                                       "(idp referentials import rpps FILE)")
        try:
            enrollment = actions.enroll(admin, person, {
                "finess": finess, "profession": profession, "start_date": start_date})
        except actions.ActionError as exc:
            db.session.rollback()
            raise click.ClickException(f"{exc.field}: {exc}") from None
        db.session.commit()
        out = {"enrollment_id": enrollment.id, "person": person.national_id,
               "finess": enrollment.finess, "profession": enrollment.profession_code,
               "start_date": enrollment.start_date.isoformat()}
    print_result(out, as_json, "enrollment recorded")
