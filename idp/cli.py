"""The ``idp`` command line: serve, demo, and administration of clients and accounts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask

from idp.config import ConfigError


def _app() -> Flask:
    from idp import create_app

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def upgrade_database(app: Flask) -> None:
    """Bring the database schema to the latest migration, then load the signing keys."""
    from flask_migrate import upgrade

    from idp.signing.setup import load_keys

    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        load_keys(app.extensions["idp"].keys, app.config["IDP_SETTINGS"].generated)


@contextmanager
def migrated_app() -> Iterator[Flask]:
    """The app configured from the environment, its schema up to date, in its app context."""
    app = _app()
    upgrade_database(app)
    with app.app_context():
        yield app


def print_result(data: dict, as_json: bool, title: str) -> None:
    """What a command did: one JSON object with ``--json``, else a title and its fields."""
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    click.echo(title)
    for key, value in data.items():
        click.echo(f"  {key}: {value}")


def _announce(app: Flask) -> None:
    settings = app.config["IDP_SETTINGS"]
    for item in settings.generated:
        click.echo(f"created {item}")
    if settings.env != "production":
        click.secho("WARNING: development mode (IDP_ENV=development): embedded defaults may be "
                    "in force; never expose this server.", fg="yellow", err=True)


@click.group()
def main() -> None:
    """OpenID Connect identity provider for French health professionals."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def run(host: str, port: int) -> None:
    """Serve the IdP (development server; use gunicorn in production)."""
    app = _app()
    upgrade_database(app)
    _announce(app)
    click.echo(f"issuer {app.config['IDP_SETTINGS'].issuer} listening on http://{host}:{port}")
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@main.command()
def migrate() -> None:
    """Apply database migrations."""
    upgrade_database(_app())
    click.echo("database up to date")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--rp-port", default=5001, show_default=True, type=int)
@click.option("--card", type=click.Choice(["kit", "anne"]), default="kit", show_default=True,
              help="Virtual CPS card in the reader: the doctor's (kit) or the nurse's (anne).")
def demo(host: str, port: int, rp_port: int, card: str) -> None:
    """Run the IdP, the demo relying party and demo data together."""
    from idp.demo import run_demo

    run_demo(host, port, rp_port, card)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def purge(as_json: bool) -> None:
    """Delete expired codes, tokens and e-mail links (run it daily, e.g. from cron)."""
    from idp.maintenance import purge_expired

    with migrated_app():
        counts = purge_expired()
    if as_json:
        click.echo(json.dumps(counts))
        return
    for table, count in counts.items():
        click.echo(f"{table}: {count} expired rows deleted")


def _register_groups() -> None:
    from idp.admin.cli import admins
    from idp.referentials.cli import referentials
    from idp.signing.cli import keys

    main.add_command(keys)
    main.add_command(referentials)
    main.add_command(admins)


_register_groups()


@main.group()
def clients() -> None:
    """Relying parties."""


@clients.command("create")
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True)
@click.option("--post-logout-redirect-uri", "post_logout_uris", multiple=True)
@click.option("--scope", default="openid profile email offline_access", show_default=True)
@click.option("--confidential/--public", default=True, show_default=True)
@click.option("--auth-method", type=click.Choice(["client_secret_basic", "client_secret_post"]),
              default="client_secret_basic", show_default=True,
              help="Token endpoint authentication of a confidential client.")
@click.option("--first-party", is_flag=True, help="Skip the consent page.")
@click.option("--id-token-alg", type=click.Choice(["RS256", "PS256", "ES256"]),
              help="Algorithm of this client's ID tokens (default RS256).")
@click.option("--client-id", help="Choose the client id (default: random).")
@click.option("--client-secret", help="Choose the secret (default: random; shown once).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def clients_create(name, redirect_uris, post_logout_uris, scope, confidential, auth_method,
                   first_party, id_token_alg, client_id, client_secret, as_json) -> None:
    """Register a client."""
    from idp.oauth.registration import ClientError, register_client

    with migrated_app():
        try:
            client, secret = register_client(
                name=name, redirect_uris=list(redirect_uris),
                post_logout_redirect_uris=list(post_logout_uris), scope=scope,
                auth_method=auth_method if confidential else "none", first_party=first_party,
                client_id=client_id, client_secret=client_secret, id_token_alg=id_token_alg)
        except ClientError as exc:
            raise click.ClickException(str(exc)) from None
        out = {"client_id": client.client_id, "name": client.name,
               "token_endpoint_auth_method": client.token_endpoint_auth_method,
               "redirect_uris": client.redirect_uris,
               "post_logout_redirect_uris": client.post_logout_redirect_uris,
               "scope": client.scope, "first_party": client.first_party,
               "id_token_signed_response_alg": client.id_token_signed_response_alg or "RS256"}
        if secret:
            out["client_secret"] = secret
    print_result(out, as_json, "client created (the secret is shown only now)")


@main.group()
def accounts() -> None:
    """Accounts of centres and professionals."""


def _password_option(f):
    return click.option("--password", help="Initial password (policy applies); "
                        "default: prompt.")(f)


@accounts.command("create-centre")
@click.option("--finess", required=True, help="FINESS of the centre (the login identifier).")
@click.option("--name", "organisation_name", required=True, help="Raison sociale.")
@click.option("--email", required=True)
@click.option("--director-given-name")
@click.option("--director-family-name")
@_password_option
@click.option("--json", "as_json", is_flag=True)
def create_centre(finess, organisation_name, email, director_given_name, director_family_name,
                  password, as_json) -> None:
    """Create a health centre account (held by its director)."""
    _create_account("centre", {"finess": [finess]}, email, password, as_json,
                    organisation_name=organisation_name, given_name=director_given_name,
                    family_name=director_family_name)


@accounts.command("create-ps")
@click.option("--email", required=True)
@click.option("--am", "am_numbers", multiple=True, help="Numéro AM (one per libéral activity).")
@click.option("--rpps")
@click.option("--adeli")
@click.option("--given-name", required=True)
@click.option("--family-name", required=True)
@click.option("--profession", "profession_code", default="10", show_default=True,
              help="TRE_G15 code: 10 médecin, 60 infirmier...")
@_password_option
@click.option("--json", "as_json", is_flag=True)
def create_ps(email, am_numbers, rpps, adeli, given_name, family_name, profession_code,
              password, as_json) -> None:
    """Create a health professional's personal account."""
    identifiers = {"am": list(am_numbers)}
    if rpps:
        identifiers["rpps"] = [rpps]
    if adeli:
        identifiers["adeli"] = [adeli]
    _create_account("ps", identifiers, email, password, as_json, given_name=given_name,
                    family_name=family_name, profession_code=profession_code)


def _create_account(kind, identifiers, email, password, as_json, **fields) -> None:
    from idp.accounts.enrolment import AccountError, create_account_checked

    if password is None:
        password = click.prompt("Mot de passe", hide_input=True, confirmation_prompt=True)
    with migrated_app():
        try:
            account = create_account_checked(kind, identifiers=identifiers, email=email,
                                             password=password, **fields)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
        out = {"sub": account.sub, "id": account.id, "kind": account.kind,
               "email": account.email,
               "identifiers": {k: account.identifier_values(k) for k in identifiers}}
    print_result(out, as_json, "account created")


@main.group()
def cps() -> None:
    """CPS card login: test PKI and virtual card (development and tests only)."""


@cps.command("make-test-pki")
@click.argument("directory", type=click.Path(file_okay=False))
def cps_make_test_pki(directory) -> None:
    """Write a test IGC-Santé-like PKI (CAs, CRL, card certificates and keys) into DIRECTORY."""
    from pathlib import Path

    from idp.devtools.test_pki import make_test_pki

    manifest = make_test_pki(Path(directory))
    click.echo(f"test PKI written to {directory} (TEST ONLY: private keys in clear)")
    click.echo(f"  IDP_CPS_TRUST_ANCHORS={manifest['trust_anchors']}")
    click.echo(f"  IDP_CPS_CRLS={manifest['crl']}")
    click.echo(f"  cards (PIN {manifest['pin']}): {', '.join(manifest['cards'])}")


@cps.command("virtual-card")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--card", default="kit", show_default=True, help="Card name in the test PKI.")
@click.option("--pin", default=None, help="PIN of the card (default: the test PKI's).")
@click.option("--vpcd-port", default=35963, show_default=True, type=int)
def cps_virtual_card(directory, card, pin, vpcd_port) -> None:
    """Insert a virtual CPS card of the test PKI in DIRECTORY into the vpcd reader."""
    from idp.devtools.virtual_card import attach_test_card

    try:
        connection = attach_test_card(directory, card, pin=pin, port=vpcd_port)
    except (OSError, KeyError) as exc:
        raise click.ClickException(f"cannot insert the card: {exc} (are pcscd and "
                                   "vsmartcard-vpcd installed and running?)") from None
    click.echo(f"virtual card {card!r} inserted in the vpcd reader; Ctrl+C to remove it")
    try:
        connection.wait()
    except KeyboardInterrupt:
        pass
    finally:
        connection.remove()
