"""Every registered login method honours the Authenticator contract (idp/authenticators/base.py).

The parametrisation covers every module of the package, so that a new method
is checked as soon as it registers itself.
"""

import ast
import importlib
import inspect
import pkgutil

import pytest

import idp.authenticators
from idp.authenticators import REGISTRY
from idp.authenticators.base import Authenticator, Challenge, LoginContext, LoginResult, Outcome

for _module in pkgutil.iter_modules(idp.authenticators.__path__):
    importlib.import_module(f"idp.authenticators.{_module.name}")

METHODS = sorted(REGISTRY)

GARBAGE = [
    {},
    {"identifier": "", "password": ""},
    {"identifier": "\x00\x01\x02", "password": "x"},
    {"identifier": "<script>alert(1)</script>", "password": "' OR 1=1 --"},
    {"identifier": "a" * 5000, "password": "b" * 5000},
    {"unexpected": "field", "state": "forged", "csrf_token": "zzz"},
    {"identifier": "nobody.at.all@example.fr", "password": "Wrong-Password-1!"},
    {"certificate": "garbage", "signature": "!!!", "challenge": "AAAA"},
    {"certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
     "signature": "AAAA", "challenge": "A" * 5000},
]

BINDING = "contract-test-session-binding-0123456789abcdef"


def cps_setup(tmp_path_factory):
    """The card method needs trust anchors (a fictitious IGC-Santé) and a session binding."""
    from idp.devtools.test_pki import make_test_pki

    manifest = make_test_pki(tmp_path_factory.mktemp("contract-pki"))
    settings = {"IDP_CPS_TRUST_ANCHORS": manifest["trust_anchors"],
                "IDP_CPS_CRLS": manifest["crl"]}
    return settings, [{"channel": "agent", "binding": BINDING},
                      {"channel": "mtls", "binding": BINDING}]


# What a method needs besides the defaults: (settings, states the login pages keep for it).
SETUPS = {"cps": cps_setup}


def test_the_password_method_is_registered():
    assert "password" in METHODS


@pytest.fixture(scope="module")
def setups(tmp_path_factory):
    """Each method's extra settings and page states, built once per module when needed."""
    built = {}

    def get(name):
        if name not in built:
            setup = SETUPS.get(name)
            built[name] = setup(tmp_path_factory) if setup else ({}, [{}])
        return built[name]

    return get


@pytest.fixture(params=METHODS)
def method(request, make_app, setups):
    """(app, authenticator, page states) with only this method enabled."""
    settings, states = setups(request.param)
    app = make_app(IDP_AUTHENTICATORS=request.param, **settings)
    authenticator = app.extensions["authenticators"][request.param]
    assert list(app.extensions["authenticators"]) == [request.param]
    return app, authenticator, states


def test_describes_itself(method):
    _, authenticator, _ = method
    assert isinstance(authenticator, Authenticator)
    assert REGISTRY[authenticator.name]
    assert authenticator.name in METHODS
    for attribute in ("label", "acr"):
        value = getattr(authenticator, attribute)
        assert isinstance(value, str) and value.strip(), attribute
    assert isinstance(authenticator.amr, tuple) and authenticator.amr
    assert all(isinstance(value, str) and value for value in authenticator.amr)


def test_begin_returns_a_challenge_of_this_method(method):
    app, authenticator, states = method
    for state in states:
        with app.test_request_context("/login"):
            challenge = authenticator.begin(LoginContext(ip="192.0.2.1", user_agent="contract",
                                                         state=state))
        assert isinstance(challenge, Challenge)
        assert challenge.method == authenticator.name
        assert challenge.fields and all(isinstance(f, str) and f for f in challenge.fields)


@pytest.mark.parametrize("response", GARBAGE, ids=range(len(GARBAGE)))
def test_verify_never_raises_nor_succeeds_on_bad_input(method, response):
    app, authenticator, states = method
    for state in states:
        with app.test_request_context("/login", method="POST"):
            issued = authenticator.begin(LoginContext(state=state)).state
            context = LoginContext(ip="192.0.2.1", user_agent="contract",
                                   state={**issued, **state})
            result = authenticator.verify(context, response)
        assert isinstance(result, LoginResult)
        assert result.method == authenticator.name
        assert result.outcome in (Outcome.INVALID, Outcome.FAILURE), result
        assert result.account_id is None
        assert not result.succeeded
        assert result.acr is None and result.amr == ()


def test_module_stays_out_of_the_session_and_the_protocol(method):
    """An authenticator neither touches the browser session nor any OAuth object."""
    _, authenticator, _ = method
    for module in (inspect.getmodule(type(authenticator)), inspect.getmodule(Authenticator)):
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("authlib"), module.__name__
                if node.module == "flask":
                    names = {alias.name for alias in node.names}
                    assert not names & {"session", "g", "*"}, module.__name__
            elif isinstance(node, ast.Import):
                assert not any(alias.name.startswith("authlib") for alias in node.names)
            elif isinstance(node, ast.Attribute) and node.attr == "session":
                assert not (isinstance(node.value, ast.Name) and node.value.id == "flask")
