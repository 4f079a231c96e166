"""Interoperability: the real IdP driven by openid-client (panva), an independent RP library.

``rp_flow.mjs`` runs the whole relying-party journey once per scenario and
prints one JSON object; these tests assert on it, one test per group of
related expectations, so that one broken feature does not hide the others.

Scenarios:

* ``confidential``: first-party confidential client, ``client_secret_basic``
  (or whatever ``clients create`` reports), PKCE S256, no consent page.
* ``public``: third-party public client (token endpoint auth ``none``,
  PKCE only), which goes through the consent page.

Needs Node.js >= 20 (for openid-client 6); without it the tests skip, except
under CI (``CI=true``) where they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

INTEROP_DIR = Path(__file__).resolve().parent

RP_TIMEOUT_S = 120
NPM_TIMEOUT_S = 600
# Never fetched: nothing listens there, the "browser" stops at the redirect.
RP_BASE = "http://127.0.0.1:8765/interop"
SCOPE = "openid profile email offline_access scope_all"


# ---------------------------------------------------------------------------
# Node.js and the npm dependencies
# ---------------------------------------------------------------------------

def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required under CI)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def node() -> str:
    """Path of a Node.js >= 20 with openid-client installed in tests/interop/node_modules."""
    node_bin = shutil.which("node")
    if node_bin is None:
        _unavailable("node is not installed")
    version = subprocess.run([node_bin, "--version"], capture_output=True, text=True, check=False,
                             timeout=30).stdout.strip()
    match = re.match(r"v(\d+)\.", version)
    if not match or int(match.group(1)) < 20:
        _unavailable(f"Node.js >= 20 is needed, found {version or 'unknown'}")
    if not (INTEROP_DIR / "node_modules" / "openid-client" / "package.json").is_file():
        npm_bin = shutil.which("npm")
        if npm_bin is None:
            _unavailable("npm is not installed (needed once to install openid-client)")
        has_lock = (INTEROP_DIR / "package-lock.json").is_file()
        cmd = [npm_bin, "ci" if has_lock else "install", "--no-audit", "--no-fund"]
        proc = subprocess.run(cmd, cwd=INTEROP_DIR, capture_output=True, text=True, check=False,
                              timeout=NPM_TIMEOUT_S)
        if proc.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed in {INTEROP_DIR} ({proc.returncode})\n"
                        f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return node_bin


def test_rp_flow_helpers(node):
    """The HTML form parser and cookie jar of the RP script (no server needed)."""
    proc = subprocess.run([node, "rp_flow.mjs", "--self-test"], cwd=INTEROP_DIR,
                          capture_output=True, text=True, check=False, timeout=RP_TIMEOUT_S)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout) == {"ok": True, "self_test": "passed"}


# ---------------------------------------------------------------------------
# One RP run per scenario
# ---------------------------------------------------------------------------

@dataclass(repr=False)
class Flow:
    scenario: str
    client: dict
    args: dict
    result: dict
    account: dict
    idp: Any  # conftest.LiveIdp
    stderr: str

    def __repr__(self) -> str:  # keeps pytest's failure reports short
        return f"<Flow {self.scenario} ok={self.result.get('ok')} step={self.result.get('step')}>"

    @property
    def confidential(self) -> bool:
        return self.scenario == "confidential"

    @property
    def may_introspect(self) -> bool:
        """Confidential clients always; a public one when the provider lets it (see below)."""
        return self.confidential or bool(self.result.get("introspection", {}).get("ok"))

    def summary(self) -> str:
        """What went wrong, for assertion messages."""
        r = self.result
        head = (f"[{self.scenario}] rp_flow ok={r.get('ok')} step={r.get('step')} "
                f"error={r.get('error')} code={r.get('code')} oauth_error={r.get('oauth_error')}")
        cause = json.dumps(r.get("cause"), indent=1, ensure_ascii=False)[:4000]
        stderr = f"\n--- node stderr ---\n{self.stderr[-2000:]}" if self.stderr.strip() else ""
        return f"{head}\ncause: {cause}{stderr}\n{self.idp.server_logs()}"

    def need(self, key: str):
        """A part of the result, or a failure explaining why the flow did not get there."""
        if key not in self.result:
            r = self.result
            pytest.fail(f"[{self.scenario}] the RP flow did not reach '{key}': it stopped at step "
                        f"{r.get('step')!r} with {r.get('error')} (oauth_error="
                        f"{r.get('oauth_error')}); details in test_flow_runs_to_the_end",
                        pytrace=False)
        return self.result[key]

    def describe(self, key: str) -> str:
        return (f"[{self.scenario}] {key} = "
                f"{json.dumps(self.result.get(key), indent=1, ensure_ascii=False)[:4000]}\n"
                f"{self.idp.server_logs()}")


def _create_client(idp, scenario: str) -> tuple[dict, dict]:
    redirect_uri = f"{RP_BASE}/{scenario}/callback"
    post_logout_redirect_uri = f"{RP_BASE}/{scenario}/logged-out"
    args = ["clients", "create", "--name", f"Interop RP ({scenario})",
            "--redirect-uri", redirect_uri,
            "--post-logout-redirect-uri", post_logout_redirect_uri,
            "--scope", SCOPE]
    if scenario == "confidential":
        args += ["--confidential", "--first-party"]
    else:
        # Third party: the user must see (and accept) the consent page.
        args += ["--public"]
    created = idp.cli(*args, "--json")
    assert created.get("client_id"), f"clients create printed no client_id: {created}"
    uris = {"redirect_uri": redirect_uri, "post_logout_redirect_uri": post_logout_redirect_uri}
    return created, uris


def _run_rp(node: str, args: dict) -> tuple[dict, str]:
    proc = subprocess.run([node, "rp_flow.mjs", json.dumps(args)], cwd=INTEROP_DIR,
                          capture_output=True, text=True, check=False, timeout=RP_TIMEOUT_S)
    try:
        result = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"rp_flow.mjs printed no JSON (exit {proc.returncode})\n"
                    f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")
    if proc.returncode != 0 and result.get("ok"):
        pytest.fail(f"rp_flow.mjs exited {proc.returncode} with ok=true\n{proc.stderr[-3000:]}")
    return result, proc.stderr


@pytest.fixture(scope="module", params=["confidential", "public"])
def flow(request, node, live_idp, ps_account: dict) -> Flow:
    scenario = request.param
    created, uris = _create_client(live_idp, scenario)
    args = {
        "scenario": scenario,
        "issuer": live_idp.issuer,
        "client_id": created["client_id"],
        "scope": SCOPE,
        "identifier": ps_account["identifier"],
        "password": ps_account["password"],
        **uris,
    }
    if scenario == "confidential":
        assert created.get("client_secret"), f"a confidential client needs a secret: {created}"
        args["client_secret"] = created["client_secret"]
        args["token_endpoint_auth_method"] = created.get("token_endpoint_auth_method",
                                                         "client_secret_basic")
    else:
        assert not created.get("client_secret"), f"a public client has no secret: {created}"
    result, stderr = _run_rp(node, args)
    # Kept next to the server logs (pytest's basetemp) for post-mortem reading.
    (live_idp.data_dir / f"rp_flow.{scenario}.json").write_text(json.dumps(result, indent=2))
    return Flow(scenario=scenario, client=created, args=args, result=result,
                account=ps_account, idp=live_idp, stderr=stderr)


def _error_of(outcome: dict) -> str | None:
    return None if outcome.get("ok") else outcome.get("oauth_error")


# ---------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------

def test_flow_runs_to_the_end(flow: Flow):
    if flow.result.get("ok") is not True:
        pytest.fail(flow.summary())


def test_discovery_metadata(flow: Flow):
    discovery = flow.need("discovery")
    md = discovery["metadata"]
    issuer = flow.idp.issuer
    assert discovery["issuer"] == issuer
    assert md["response_types_supported"] == ["code"]
    assert "S256" in md["code_challenge_methods_supported"]
    assert "plain" not in md["code_challenge_methods_supported"]
    assert md.get("authorization_response_iss_parameter_supported") is True
    assert "RS256" in md["id_token_signing_alg_values_supported"]
    for endpoint in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
                     "revocation_endpoint", "introspection_endpoint", "end_session_endpoint"):
        assert str(md.get(endpoint, "")).startswith(issuer + "/"), (endpoint, md.get(endpoint))
    if "grant_types_supported" in md:
        assert {"authorization_code", "refresh_token"} <= set(md["grant_types_supported"])
        assert "implicit" not in md["grant_types_supported"]
    assert "openid" in md.get("scopes_supported", ["openid"])


def test_authorization_response(flow: Flow):
    """Login form with CSRF token, consent only for the third party, code + state + iss (RFC 9207)."""
    login = flow.need("login")
    params = login["callback_params"]
    assert "error" not in params, flow.describe("login")
    assert params.get("code"), flow.describe("login")
    assert params.get("state") == login["authorization_request"]["state"]
    assert params.get("iss") == flow.idp.issuer, "RFC 9207 iss parameter"
    assert len(login["login_forms"]) >= 1, flow.describe("login")
    assert "csrf_token" in login["login_forms"][0]["hidden_fields"], flow.describe("login")
    posted = [form["posted"] for form in login["decision_forms"]]
    if flow.confidential:
        assert posted == [], "a first-party client must not get a consent page"
    else:
        assert posted == ["allow"], "a third-party client must get the consent page"
        assert "csrf_token" in login["decision_forms"][0]["hidden_fields"], flow.describe("login")


def test_token_response(flow: Flow):
    tokens = flow.need("tokens")
    assert tokens["token_type"].lower() == "bearer"
    assert isinstance(tokens["expires_in"], int) and tokens["expires_in"] > 0
    assert tokens["has_access_token"] and tokens["has_id_token"]
    assert tokens["has_refresh_token"], f"offline_access was requested\n{flow.describe('tokens')}"
    if tokens["scope"] is not None:
        assert "openid" in tokens["scope"].split()


def test_id_token(flow: Flow):
    """openid-client verified signature, iss, aud, nonce and exp; check what it verified against."""
    tokens = flow.need("tokens")
    header, claims = tokens["id_token_header"], tokens["id_token_claims"]
    assert header["alg"] == "RS256"
    assert header.get("kid"), "the ID token header must carry a kid"
    with urllib.request.urlopen(flow.need("discovery")["metadata"]["jwks_uri"], timeout=10) as resp:
        jwks = json.load(resp)
    assert header["kid"] in {key.get("kid") for key in jwks["keys"]}
    assert all("d" not in key for key in jwks["keys"]), "the JWKS must not publish private keys"
    assert claims["iss"] == flow.idp.issuer
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert flow.client["client_id"] in aud
    assert claims["sub"] == flow.account["sub"]
    assert claims.get("nonce")
    assert claims["exp"] > claims["iat"]
    assert claims["iat"] <= time.time() + 60


def test_userinfo(flow: Flow):
    userinfo = flow.need("userinfo")
    assert userinfo["sub"] == flow.account["sub"]
    assert userinfo.get("given_name") == flow.account["given_name"], userinfo
    assert userinfo.get("family_name") == flow.account["family_name"], userinfo
    assert userinfo.get("email") == flow.account["email"], userinfo


def test_userinfo_has_the_pro_sante_connect_shape(flow: Flow):
    """scope_all: what an RP written for Pro Santé Connect reads, with PSC's key names."""
    userinfo = flow.need("userinfo")
    assert userinfo["SubjectNameID"] == "899700427885", flow.describe("userinfo")
    assert userinfo["preferred_username"] == "899700427885"
    assert userinfo["SubjectRole"] == ["10^1.2.250.1.213.1.1.5.5"]
    assert userinfo["otherIds"] == [{"identifiant": "899700427885", "origine": "RPPS",
                                     "qualite": 1}]
    (exercice,) = userinfo["SubjectRefPro"]["exercices"]
    assert userinfo["SubjectRefPro"]["codeCivilite"] == "M"
    assert {k: exercice[k] for k in ("codeProfession", "codeCategorieProfessionnelle",
                                     "codeCiviliteDexercice", "nomDexercice", "prenomDexercice",
                                     "codeSavoirFaire")} == {
        "codeProfession": "10", "codeCategorieProfessionnelle": "C", "codeCiviliteDexercice": "DR",
        "nomDexercice": "DOC0042788", "prenomDexercice": "KIT", "codeSavoirFaire": "SM54"}
    # The libéral practice of the RPPS sample, then the centre the adviser enrolled them in.
    liberal, salaried = exercice["activities"]
    assert liberal == {"codeModeExercice": "L", "codeSecteurDactivite": "SA07",
                       "identifiantTechniqueDeLaStructure": "R10267101",
                       "raisonSocialeSite": "CABINET M DOC0042788", "codePostal": "75009",
                       "bureauCedex": "75009 PARIS"}
    assert {k: salaried.get(k) for k in (
        "codeModeExercice", "codeSecteurDactivite", "identifiantTechniqueDeLaStructure",
        "numeroFinessSite", "numeroFinessetablissementJuridique", "codePostal")} == {
        "codeModeExercice": "S", "codeSecteurDactivite": "SA05",
        "identifiantTechniqueDeLaStructure": "F750712184", "numeroFinessSite": "750712184",
        "numeroFinessetablissementJuridique": "750712176", "codePostal": "75009"}, salaried
    assert salaried["raisonSocialeSite"].startswith("CENTRE DE SANTE DEMO PARIS 9")
    assert userinfo["SubjectOrganization"] == "CABINET M DOC0042788"
    assert userinfo["SubjectOrganizationID"] == "R10267101"


def test_introspection(flow: Flow):
    """RFC 7662: a client introspects its own tokens; unknown tokens are inactive.

    A public client has no credentials. Whether it may introspect its own
    tokens (auth method ``none``) is the provider's policy: either it is
    refused as ``invalid_client``, or it gets the same correct answers as a
    confidential client.
    """
    outcome = flow.need("introspection")
    unknown = flow.need("introspection_unknown_token")
    if not flow.confidential and not outcome["ok"]:
        for refused in (outcome, unknown):
            assert refused["oauth_error"] == "invalid_client" or refused["status"] == 401, \
                flow.describe("introspection")
        return
    assert outcome["ok"], flow.describe("introspection")
    value = outcome["value"]
    assert value["active"] is True
    assert value.get("sub") == flow.account["sub"]
    assert value.get("client_id") == flow.client["client_id"]
    assert unknown["ok"] and unknown["value"] == {"active": False}, flow.describe(
        "introspection_unknown_token")


def test_refresh_token_rotation(flow: Flow):
    refresh = flow.need("refresh")
    assert "skipped" not in refresh, flow.describe("refresh")
    assert refresh["refresh_token_rotated"], "each refresh must issue a new refresh token"
    assert refresh["has_access_token"] and refresh["token_type"].lower() == "bearer"
    assert refresh["userinfo_with_new_access_token"]["ok"], flow.describe("refresh")
    if refresh["has_id_token"]:
        assert refresh["id_token_claims"]["sub"] == flow.account["sub"]


def test_refresh_token_replay_revokes_the_family(flow: Flow):
    flow.need("refresh")
    old = flow.need("refresh_replay_old")
    assert _error_of(old) == "invalid_grant", flow.describe("refresh_replay_old")
    new = flow.need("refresh_new_after_replay")
    assert _error_of(new) == "invalid_grant", (
        "after a replay, the whole refresh token family must be revoked\n"
        + flow.describe("refresh_new_after_replay"))


def test_second_login_uses_the_session(flow: Flow):
    """The second authorization request reuses the IdP session: no login form."""
    second = flow.need("second_login")
    assert second["callback_params"].get("iss") == flow.idp.issuer
    assert second["login_forms"] == [], flow.describe("second_login")
    assert flow.need("second_tokens")["has_refresh_token"]


def test_revocation(flow: Flow):
    """RFC 7009: a revoked refresh token can no longer be used."""
    revocation = flow.need("revocation")
    assert "skipped" not in revocation, flow.describe("revocation")
    assert revocation["ok"], flow.describe("revocation")
    refresh = flow.need("refresh_after_revocation")
    assert _error_of(refresh) == "invalid_grant", flow.describe("refresh_after_revocation")
    if flow.may_introspect:
        introspected = flow.need("introspection_refresh_token_after_revocation")
        assert introspected["ok"] and introspected["value"]["active"] is False, flow.describe(
            "introspection_refresh_token_after_revocation")


def test_revocation_cascades_to_access_tokens(flow: Flow):
    """Revoking a refresh token revokes the access tokens of the same grant."""
    flow.need("revocation")
    userinfo = flow.need("userinfo_after_revocation")
    # RFC 6750 §3.1: 401 with WWW-Authenticate: Bearer error="invalid_token"; openid-client
    # reports it as a WWW-Authenticate challenge error carrying that code.
    assert not userinfo["ok"], flow.describe("userinfo_after_revocation")
    assert userinfo["code"] == "OAUTH_WWW_AUTHENTICATE_CHALLENGE", flow.describe(
        "userinfo_after_revocation")
    assert userinfo["oauth_error"] == "invalid_token", flow.describe("userinfo_after_revocation")
    if flow.may_introspect:
        introspected = flow.need("introspection_access_token_after_revocation")
        assert introspected["ok"] and introspected["value"]["active"] is False, flow.describe(
            "introspection_access_token_after_revocation")


def test_rp_initiated_logout(flow: Flow):
    logout = flow.need("logout")
    assert logout["final_location"].startswith(flow.args["post_logout_redirect_uri"]), \
        flow.describe("logout")
    assert logout["returned_state"] == logout["expected_state"], flow.describe("logout")
    assert logout["login_forms"] == [], flow.describe("logout")
    assert all(form["posted"] == "logout" for form in logout["decision_forms"])


def test_prompt_none_after_logout(flow: Flow):
    """After logout the IdP session is gone: prompt=none answers login_required (with iss, state)."""
    silent = flow.need("prompt_none_after_logout")
    assert not silent["unexpected_success"], flow.describe("prompt_none_after_logout")
    assert silent["error"] == "login_required", flow.describe("prompt_none_after_logout")
    # openid-client checked iss and state before surfacing the error response.
    assert silent["library_error"]["code"] == "OAUTH_AUTHORIZATION_RESPONSE_ERROR"
    assert silent["callback_params"].get("iss") == flow.idp.issuer
    assert silent["callback_params"].get("state") == silent["expected_state"]
