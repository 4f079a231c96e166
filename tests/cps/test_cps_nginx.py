"""The mTLS path: a real nginx (Debian's) verifies the card certificate and forwards it.

Uses deploy/nginx/idp-cps.conf as shipped, with ports and paths substituted,
in front of a live IdP. Also: the header is ignored from untrusted addresses.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from conftest import OIDC
from cps_support import card_files, cps_config, free_port, need, page_text, pki  # noqa: F401
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "idp-cps.conf"


def _server_certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(
                ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def live_idp(make_app, pki):
    """The card-enabled IdP served on a loopback port, trusting 127.0.0.1 as its proxy."""
    app = make_app(**cps_config(pki, IDP_TRUSTED_PROXIES="127.0.0.1"))
    OIDC(app, app.test_client()).create_ps()
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield port
    server.shutdown()


@pytest.fixture
def nginx(tmp_path, live_idp, pki):
    """nginx with the shipped configuration in front of ``live_idp``; yields (url, CA file)."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    need(Path(binary).exists(), "nginx is not installed (apt-get install nginx)")
    server_cert, server_key = _server_certificate(tmp_path)
    port = free_port()
    site = CONFIG.read_text()
    for shipped, local in (("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
                           ("server 127.0.0.1:8000;", f"server 127.0.0.1:{live_idp};"),
                           ("/etc/idp/tls/server.pem", str(server_cert)),
                           ("/etc/idp/tls/server.key", str(server_key)),
                           ("/etc/idp/cps-trust-anchors.pem", pki["trust_anchors"])):
        assert shipped in site, shipped
        site = site.replace(shipped, local)
    (tmp_path / "site.conf").write_text(site)
    temp = {name: tmp_path / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    (tmp_path / "nginx.conf").write_text(
        f"user root;\nworker_processes 1;\npid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/error.log info;\nevents {{}}\n"
        f"http {{\n access_log {tmp_path}/access.log;\n"
        f" client_body_temp_path {temp['body']};\n proxy_temp_path {temp['proxy']};\n"
        f" fastcgi_temp_path {temp['fastcgi']};\n uwsgi_temp_path {temp['uwsgi']};\n"
        f" scgi_temp_path {temp['scgi']};\n include {tmp_path}/site.conf;\n}}\n")
    process = subprocess.Popen([binary, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                                "-g", "daemon off;"], stderr=subprocess.PIPE)
    url = f"https://127.0.0.1:{port}"
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            requests.get(url + "/carte-cps", verify=str(server_cert), timeout=1)
            break
        except requests.ConnectionError:
            if process.poll() is not None:
                pytest.fail(f"nginx exited: {process.stderr.read().decode()}")
            time.sleep(0.1)
    yield url, str(server_cert)
    process.terminate()
    process.wait(timeout=10)


def _card(pki, name):
    entry = pki["cards"][name]
    return entry["certificate"], entry["key"]


def test_nginx_forwards_a_verified_card_and_the_idp_logs_in(nginx, pki):
    url, ca = nginx
    browser = requests.Session()
    answer = browser.get(url + "/carte-cps/tls", cert=_card(pki, "kit"), verify=ca,
                         allow_redirects=False, timeout=10)
    assert answer.status_code == 303, page_text_of(answer)
    assert answer.headers["Location"].endswith("/connecte")
    signed_in = browser.get(url + "/connecte", cert=_card(pki, "kit"), verify=ca, timeout=10)
    assert "Vous êtes connecté à amelipro en tant que KIT DOC0042788" in signed_in.text


def page_text_of(response) -> str:
    """A requests response's text, for assertion messages."""
    return response.text[-2000:]


def test_nginx_without_client_certificate(nginx):
    url, ca = nginx
    answer = requests.get(url + "/carte-cps/tls", verify=ca, allow_redirects=False, timeout=10)
    assert answer.status_code == 400
    assert "Aucun certificat de carte CPS n'a été présenté" in answer.text.replace("&#39;", "'")


def test_nginx_drops_a_header_forged_by_the_client(nginx, pki):
    url, ca = nginx
    _, _, pem = card_files(pki, "kit")
    answer = requests.get(url + "/carte-cps/tls", verify=ca, allow_redirects=False, timeout=10,
                          headers={"X-SSL-Client-Cert": quote(pem)})
    assert answer.status_code == 400
    assert "Aucun certificat de carte CPS" in answer.text


def test_bad_cards_through_nginx_get_the_idp_french_message(nginx, pki):
    url, ca = nginx
    foreign = requests.get(url + "/carte-cps/tls", cert=_card(pki, "foreign"), verify=ca,
                           allow_redirects=False, timeout=10)
    assert foreign.status_code == 400
    assert "autorité de certification reconnue" in foreign.text
    revoked = requests.get(url + "/carte-cps/tls", cert=_card(pki, "revoked"), verify=ca,
                           allow_redirects=False, timeout=10)
    assert revoked.status_code == 400
    assert "Votre carte CPS a été révoquée" in revoked.text.replace("&#39;", "'")


@pytest.mark.parametrize(("peer", "logged_in"), [("127.0.0.1", True), ("203.0.113.9", False),
                                                 ("::ffff:127.0.0.1", True)])
def test_header_honoured_only_from_trusted_proxies(make_app, pki, peer, logged_in):
    app = make_app(**cps_config(pki, IDP_TRUSTED_PROXIES="127.0.0.1"))
    OIDC(app, app.test_client()).create_ps()
    _, _, pem = card_files(pki, "kit")
    client = app.test_client()
    answer = client.get("/carte-cps/tls", headers={"X-SSL-Client-Cert": quote(pem)},
                        environ_base={"REMOTE_ADDR": peer})
    assert (answer.status_code == 303) is logged_in
    if not logged_in:
        assert "Aucun certificat de carte CPS" in page_text(answer)


def test_header_ignored_when_no_proxy_is_trusted(make_app, pki):
    app = make_app(**cps_config(pki))
    OIDC(app, app.test_client()).create_ps()
    _, _, pem = card_files(pki, "kit")
    answer = app.test_client().get("/carte-cps/tls", headers={"X-SSL-Client-Cert": quote(pem)})
    assert answer.status_code == 400
