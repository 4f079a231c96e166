"""WSGI entry point of the demo relying party: ``gunicorn --pythonpath deploy demo_rp:app``.

Settings from the environment: RP_ISSUER (the IdP's issuer URL), RP_CLIENT_ID,
RP_CLIENT_SECRET (as registered with ``idp clients create``), RP_SECRET_KEY (its cookies).
"""

import os

import relying_party_demo

app = relying_party_demo.create_app(
    issuer=os.environ["RP_ISSUER"], client_id=os.environ["RP_CLIENT_ID"],
    client_secret=os.environ["RP_CLIENT_SECRET"], secret_key=os.environ["RP_SECRET_KEY"])
