"""Card login in ``idp demo``: test PKI, and when PC/SC is there, a virtual card and the agent."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import click
from cryptography import x509

from idp.devtools.test_pki import make_test_pki

HOW_TO_INSTALL = ("Connexion par carte CPS : installez le lecteur virtuel puis relancez la démo :\n"
                  "  sudo apt-get install pcscd vsmartcard-vpcd && sudo systemctl start pcscd\n"
                  "  (sans systemd : sudo pcscd)")


def _pki_is_fresh(directory: Path) -> bool:
    manifest = directory / "manifest.json"
    if not manifest.exists():
        return False
    crl = x509.load_der_x509_crl(Path(json.loads(manifest.read_text())["crl"]).read_bytes())
    return crl.next_update_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=1)


def configure(data_dir: Path) -> Path:
    """Create (or renew) the demo's test PKI and enable card login with it."""
    directory = data_dir / "test-pki"
    if not _pki_is_fresh(directory):
        shutil.rmtree(directory, ignore_errors=True)
        make_test_pki(directory)
    os.environ.setdefault("IDP_AUTHENTICATORS", "password,cps")
    os.environ.setdefault("IDP_CPS_TRUST_ANCHORS", str(directory / "trust-anchors.pem"))
    os.environ.setdefault("IDP_CPS_CRLS", str(directory / "personnes.crl"))
    return directory


def start_card(directory: Path, issuer: str, agent_url: str, card: str = "kit") -> None:
    """Insert a virtual card of the test PKI and serve the agent; or say what is missing."""
    from idp.card_agent.server import make_server
    from idp.cps.identity import identity_from_certificate
    from idp.devtools.virtual_card import attach_test_card

    try:
        connection = attach_test_card(directory, card)
    except OSError:
        click.echo(HOW_TO_INSTALL)
        return
    agent_port = urlsplit(agent_url).port
    agent = make_server([issuer], agent_port)
    threading.Thread(target=agent.serve_forever, daemon=True).start()
    pin = json.loads((directory / "manifest.json").read_text())["pin"]
    holder = identity_from_certificate(
        x509.load_der_x509_certificate(connection.card.certificate_der)).display_name
    other = "anne" if card == "kit" else "kit"
    click.echo(f"Carte CPS virtuelle de {holder} insérée (code PIN {pin}) ; composant de lecture "
               f"sur http://127.0.0.1:{agent_port} (l'autre carte : idp demo --card {other})")
