"""``idp admins create``: accounts of the back-office (CPAM advisers)."""

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
def create(username: str, display_name: str, role: str, password: str | None) -> None:
    """Create a back-office account."""
    from idp.admin.accounts import AdminError, create_admin
    from idp.cli import _app, upgrade_database

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    app = _app()
    upgrade_database(app)
    with app.app_context():
        try:
            admin = create_admin(username, display_name, role, password)
        except AdminError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"back-office account {admin.username} created (role {admin.role})")
