"""``idp demo``: the IdP, the demo relying party and demo accounts, in one process.

DEVELOPMENT ONLY: fixed, printed passwords; never run this on a reachable host.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import click
from werkzeug.serving import make_server

DEMO_CLIENT_ID = "amelipro-demo"
DEMO_SCOPE = "openid profile email offline_access amelipro_centre amelipro_activites scope_all"
DEMO_CENTRE = "750712184"
# The salaried professionals the demo adviser has enrolled in the demo centre.
DEMO_ENROLLMENTS = [("99700427885", "10"), ("10001001170", "60")]
DEMO_PASSWORD = "Kp4!demo-idp-2026"
DEMO_ADMIN = "cis.demo"
SAMPLES = Path(__file__).parent / "data" / "samples"
DEMO_ACCOUNTS = [
    dict(kind="centre", label="Directrice du centre de santé", identifier="750712184",
         email="direction@cds-demo.fr", identifiers={"finess": ["750712184"]},
         fields=dict(organisation_name="CENTRE DE SANTE DEMO PARIS 9", given_name="Marie",
                     family_name="DIRECTRICE")),
    dict(kind="ps", label="Médecin salarié (et libéral)", identifier="kit.doc@demo.fr",
         email="kit.doc@demo.fr", identifiers={"rpps": ["99700427885"], "am": ["751234567"]},
         fields=dict(given_name="KIT", family_name="DOC0042788", profession_code="10")),
    dict(kind="ps", label="Infirmière salariée", identifier="anne.inf@demo.fr",
         email="anne.inf@demo.fr", identifiers={"rpps": ["10001001170"]},
         fields=dict(given_name="ANNE", family_name="INF0010011", profession_code="60")),
]


def ensure_demo_data(app, rp_url: str) -> str:
    """Create the demo client and accounts when missing; return the client secret."""
    from idp.accounts.enrolment import create_account_checked
    from idp.extensions import db
    from idp.models import Account, Client
    from idp.oauth.registration import register_client

    data_dir = Path(app.config["IDP_SETTINGS"].data_dir)
    secret_file = data_dir / "demo_client_secret"
    client = db.session.scalar(db.select(Client).where(Client.client_id == DEMO_CLIENT_ID))
    if client is None or not secret_file.exists() or client.scope != DEMO_SCOPE:
        if client is not None:
            db.session.delete(client)
            db.session.commit()
        _, secret = register_client(
            name="amelipro (démonstration)", redirect_uris=[f"{rp_url}/callback"],
            post_logout_redirect_uris=[f"{rp_url}/"], scope=DEMO_SCOPE,
            auth_method="client_secret_basic", first_party=True, client_id=DEMO_CLIENT_ID)
        secret_file.unlink(missing_ok=True)
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secret)
    for spec in DEMO_ACCOUNTS:
        if db.session.scalar(db.select(Account).where(Account.email == spec["email"])) is None:
            create_account_checked(spec["kind"], identifiers=spec["identifiers"],
                                   email=spec["email"], password=DEMO_PASSWORD, **spec["fields"])
    _ensure_lifecycle_data()
    return secret_file.read_text().strip()


def _ensure_lifecycle_data() -> None:
    """The sample referentials, a CPAM adviser and the enrollments of the salaried staff."""
    from datetime import date

    from idp.admin.accounts import create_admin
    from idp.extensions import db
    from idp.models import AdminAccount, Enrollment
    from idp.referentials import importer

    importer.import_finess(SAMPLES / "etalab-cs1100507-stock-sample.csv")
    importer.import_rpps(SAMPLES / "PS_LibreAcces_Personne_activite_sample.txt")
    if db.session.scalar(db.select(AdminAccount).where(
            AdminAccount.username == DEMO_ADMIN)) is None:
        create_admin(DEMO_ADMIN, "Conseiller CIS (démonstration)", "conseiller", DEMO_PASSWORD)
    for rpps, profession in DEMO_ENROLLMENTS:
        if db.session.scalar(db.select(Enrollment).where(
                Enrollment.person_id == rpps, Enrollment.finess == DEMO_CENTRE)) is None:
            db.session.add(Enrollment(person_kind="rpps", person_id=rpps, finess=DEMO_CENTRE,
                                      profession_code=profession, start_date=date(2026, 1, 1),
                                      created_by=DEMO_ADMIN))
    db.session.commit()


def _configure_mailbox(data_dir: Path) -> None:
    """Receive the demo's e-mails locally (unless IDP_SMTP_URL names a real server)."""
    from idp.devmail import start_server

    if not os.environ.get("IDP_SMTP_URL"):
        mailbox = data_dir / "devmail"
        os.environ["IDP_SMTP_URL"] = start_server(mailbox)
        os.environ["IDP_DEV_MAILBOX"] = str(mailbox)


def run_demo(host: str, port: int, rp_port: int, card: str = "kit") -> None:
    """Serve the IdP and the demo RP until interrupted."""
    import relying_party_demo
    from idp import create_app
    from idp.cli import upgrade_database
    from idp.config import Settings
    from idp.devtools import card_demo

    issuer = os.environ.setdefault("IDP_ISSUER", f"http://{host}:{port}")
    rp_url = f"http://{host}:{rp_port}"
    pki_dir = card_demo.configure(Settings.from_env().data_dir)
    _configure_mailbox(Settings.from_env().data_dir)
    app = create_app()
    upgrade_database(app)
    with app.app_context():
        secret = ensure_demo_data(app, rp_url)
    rp = relying_party_demo.create_app(issuer=issuer, client_id=DEMO_CLIENT_ID,
                                       client_secret=secret)
    idp_server = make_server(host, port, app, threaded=True)
    rp_server = make_server(host, rp_port, rp, threaded=True)
    threading.Thread(target=rp_server.serve_forever, daemon=True).start()
    for item in app.config["IDP_SETTINGS"].generated:
        click.echo(f"created {item}")
    click.secho("DEMO MODE: development defaults and printed passwords. Do not expose.",
                fg="yellow", err=True)
    click.echo(f"\nIdP (issuer)      {issuer}\nDemo service (RP) {rp_url}   <- open this\n")
    click.echo(f"Accounts (password for all: {DEMO_PASSWORD})")
    for spec in DEMO_ACCOUNTS:
        click.echo(f"  {spec['label']:<32} {spec['identifier']}")
    click.echo(f"  {'Conseiller CPAM (back-office)':<32} {DEMO_ADMIN}   {issuer}/back-office")
    click.echo(f"E-mails received: {issuer}/dev/courriels   "
               f"letters (PDF): {app.config['IDP_SETTINGS'].letter_outbox}")
    card_demo.start_card(pki_dir, issuer, app.config["IDP_SETTINGS"].cps_agent_url, card)
    click.echo("\nCtrl+C to stop.")
    try:
        idp_server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        rp_server.shutdown()
