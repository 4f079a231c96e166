"""WSGI entry point for production servers: ``gunicorn 'idp.wsgi:app'``."""

from idp import create_app
from idp.signing.setup import load_keys

app = create_app()
# Fail at start on a missing or corrupt key (run 'idp migrate' before starting workers).
with app.app_context():
    load_keys(app.extensions["idp"].keys)
