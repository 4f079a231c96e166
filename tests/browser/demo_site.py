"""The whole demo served live for the browser journeys: the IdP, the card agent and the RP.

The IdP listens on ``127.0.0.1`` and the demo relying party on ``localhost`` (each on
its own free port), so the two sites keep their cookies apart as real deployments do.
The data is ``idp demo``'s: a centre with its director, a salaried doctor who also has
a libéral practice, a salaried nurse, their enrollments and the sample referentials.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from browser_support import Deferred, LiveCardIdp, live_card_idp, serving
from werkzeug.serving import make_server

import relying_party_demo
from idp import demo


@dataclass
class DemoSite:
    """Where the journeys go: the IdP (with its card agent) and the portal."""

    idp: LiveCardIdp
    rp_url: str


@contextlib.contextmanager
def live_demo(make_app, pki: dict, reader: str, smtp_url: str) -> Iterator[DemoSite]:
    """Serve the IdP (password and card, e-mail to ``smtp_url``) and the demo RP with demo data."""
    wsgi = Deferred()
    rp_server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    rp_url = f"http://localhost:{rp_server.server_port}"
    with live_card_idp(make_app, pki, reader=reader, IDP_SMTP_URL=smtp_url) as idp:
        with idp.app.app_context():
            secret = demo.ensure_demo_data(idp.app, rp_url)
        wsgi.app = relying_party_demo.create_app(issuer=idp.issuer, client_id=demo.DEMO_CLIENT_ID,
                                                 client_secret=secret)
        with serving(rp_server):
            yield DemoSite(idp=idp, rp_url=rp_url)
