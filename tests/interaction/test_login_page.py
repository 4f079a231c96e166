"""The login page reached from an authorization request: wording, accessibility,
form handling, and logging in with any identifier of an account."""

import base64
import html
import json
import re
from html.parser import HTMLParser

import pytest
from conftest import OIDC, PASSWORD, REDIRECT_URI, csrf_of, query_of

EMAIL = "kit.doc@example.fr"
AM = "123456789"
FINESS = "750712184"
TYPED_PASSWORD = "Typed-Secret-91!"


class Elements(HTMLParser):
    """Every start tag of a page with its attributes; inputs and links by name/text."""

    def __init__(self, markup: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.links: dict[str, str] = {}
        self._href = None
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "a":
            self._href = dict(attrs).get("href")

    def handle_data(self, data):
        if self._href and data.strip():
            self.links[" ".join(data.split())] = self._href

    def handle_endtag(self, tag):
        if tag == "a":
            self._href = None

    def input(self, name: str) -> dict:
        found = [a for t, a in self.tags if t == "input" and a.get("name") == name]
        assert len(found) == 1, name
        return found[0]

    def with_id(self, element_id: str) -> list[dict]:
        return [a for _, a in self.tags if a.get("id") == element_id]


def text_of(response) -> str:
    raw = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.unescape(raw).split())


class LoginPage:
    """A browser on the login page of a pending authorization request."""

    def __init__(self, oidc: OIDC, client_id: str):
        params, self.verifier = oidc.authorize_params(client_id)
        started = oidc.start(params)
        assert started.status_code == 303, started.status_code
        self.url = started.headers["Location"]
        assert self.url.startswith("/login?ticket=")
        self.http = oidc.client
        self.page = self.http.get(self.url)
        assert self.page.status_code == 200

    def post(self, identifier=EMAIL, password=PASSWORD, csrf=True):
        data = {"identifier": identifier, "password": password}
        if csrf:
            data["csrf_token"] = csrf_of(self.page.get_data(as_text=True))
        return self.http.post(self.url, data=data)

    def signed_in(self) -> bool:
        return self.http.get("/connecte").status_code == 200


@pytest.fixture
def client_id(oidc):
    return oidc.register_client()[0]


@pytest.fixture
def login(oidc, client_id):
    oidc.create_ps(email=EMAIL, am=AM)
    return LoginPage(oidc, client_id)


def id_token_sub(token_response: dict) -> str:
    payload = token_response["id_token"].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


# --- logging in with any identifier -------------------------------------------------------------

@pytest.mark.parametrize("kind, typed", [
    ("ps", EMAIL), ("ps", "KIT.Doc@Example.FR"), ("ps", "  kit.doc@EXAMPLE.fr "),
    ("ps", AM), ("ps", "123 456 789"),
    ("centre", FINESS), ("centre", "750 712 184"), ("centre", "direction@cds.example.fr"),
])
def test_every_identifier_of_an_account_logs_into_it(app, oidc, kind, typed):
    client_id, secret = oidc.register_client()
    subs = {"ps": oidc.create_ps(email=EMAIL, am=AM), "centre": oidc.create_centre(FINESS)}
    browser = OIDC(app, app.test_client())
    tokens = browser.tokens(client_id, secret, identifier=typed)
    assert id_token_sub(tokens) == subs[kind]
    info = browser.client.get("/userinfo",
                              headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.get_json()["sub"] == subs[kind]


def test_an_email_shared_by_two_accounts_asks_for_a_number(app, oidc, client_id):
    oidc.create_ps(email="shared@example.fr", am=AM)
    oidc.create_centre(FINESS, email="shared@example.fr")
    login = LoginPage(oidc, client_id)
    response = login.post("shared@example.fr")
    assert response.status_code == 400
    assert "associée à plusieurs comptes" in text_of(response)
    assert login.post(FINESS).status_code == 303


def test_a_number_that_is_an_am_and_a_finess_never_opens_the_wrong_account(app, oidc):
    """Nine digits are looked up as numéro AM and FINESS: two accounts may own the same digits.

    Acceptable: enrolment refuses the second account, or each password opens its own
    account, or the page asks for another identifier. Never: the right password of one
    account answered as a wrong password of the other (and counted against it).
    """
    from idp.accounts.enrolment import AccountError

    oidc.create_ps(email="ps.am@example.fr", am=FINESS, password="Zq8#wLn3!kP-aa")
    try:
        oidc.create_centre(FINESS, email="direction@cds.example.fr", password="Wm5%tRb9@hJ-bb")
    except AccountError:
        return
    for password, holder in (("Zq8#wLn3!kP-aa", "KIT DOC0042788"),
                             ("Wm5%tRb9@hJ-bb", "CENTRE DE SANTE TEST")):
        http = app.test_client()
        page = http.get("/login")
        response = http.post("/login", data={"csrf_token": csrf_of(page.get_data(as_text=True)),
                                             "identifier": FINESS, "password": password})
        if response.status_code == 303:
            assert holder in text_of(http.get("/connecte")), holder
        else:
            assert response.status_code == 400, (holder, response.status_code)
            assert "Identifiant ou mot de passe incorrect." not in text_of(response)


# --- the page ----------------------------------------------------------------------------------

def test_login_page_wording_is_french(login):
    text = text_of(login.page)
    for label in ("E-mail, N° Assurance Maladie ou N° FINESS", "Mot de passe",
                  "Mot de passe oublié", "VOUS CONNECTER", "CRÉER UN COMPTE"):
        assert label in text, label
    assert '<html lang="fr">' in login.page.get_data(as_text=True)
    labels = {a.get("for") for t, a in Elements(login.page.get_data(as_text=True)).tags
              if t == "label"}
    assert {"identifier", "password"} <= labels


@pytest.fixture(scope="module")
def card_settings(tmp_path_factory):
    """Settings enabling the card method with a fictitious IGC-Santé."""
    from idp.devtools.test_pki import make_test_pki

    manifest = make_test_pki(tmp_path_factory.mktemp("login-page-pki"))
    return {"IDP_AUTHENTICATORS": "password,cps",
            "IDP_CPS_TRUST_ANCHORS": manifest["trust_anchors"], "IDP_CPS_CRLS": manifest["crl"]}


def test_card_button_is_absent_while_the_card_method_is_disabled(app, login, make_app,
                                                                 card_settings):
    assert "cps" not in app.extensions["authenticators"]
    body = login.page.get_data(as_text=True)
    assert "PAR CARTE CPS" not in body
    assert "cps-cards.svg" not in body
    # The same page with the card method enabled does show it.
    with_card = make_app(**card_settings).test_client().get("/login")
    assert "VOUS CONNECTER PAR CARTE CPS" in text_of(with_card)


def test_inputs_help_password_managers(login):
    page = Elements(login.page.get_data(as_text=True))
    assert page.input("identifier")["autocomplete"] == "username"
    assert page.input("password")["autocomplete"] == "current-password"
    assert page.input("password")["type"] == "password"
    assert "value" not in page.input("password")


@pytest.mark.parametrize("identifier, password, field, message", [
    ("", TYPED_PASSWORD, "identifier", "Saisissez votre e-mail"),
    ("not an identifier", TYPED_PASSWORD, "identifier", "Identifiant non reconnu"),
    (EMAIL, "", "password", "Saisissez votre mot de passe."),
])
def test_field_errors_are_tied_to_their_input(login, identifier, password, field, message):
    response = login.post(identifier, password)
    assert response.status_code == 400
    page = Elements(response.get_data(as_text=True))
    described_by = page.input(field).get("aria-describedby")
    assert described_by, f"{field} has no aria-describedby"
    assert page.input(field).get("aria-invalid") == "true"
    assert len(page.with_id(described_by)) == 1
    error_markup = re.search(rf'id="{described_by}"[^>]*>(.*?)</p>',
                             response.get_data(as_text=True), re.S)
    assert message in html.unescape(error_markup.group(1))


@pytest.mark.parametrize("identifier", [EMAIL, "not an identifier"])
def test_identifier_is_kept_after_an_error_but_the_password_never_echoed(login, identifier):
    response = login.post(identifier, TYPED_PASSWORD)
    assert response.status_code in (200, 400)
    body = response.get_data(as_text=True)
    assert Elements(body).input("identifier")["value"] == identifier
    assert TYPED_PASSWORD not in body
    assert "value" not in Elements(body).input("password")


def test_overlong_identifier_is_refused_and_counts_nothing(app, login, monkeypatch):
    verified = []
    service = app.extensions["idp"].passwords
    monkeypatch.setattr(service, "verify", lambda *args: verified.append(1) or False)
    # The account's own e-mail, padded: once trimmed it would name the account.
    overlong = " " * 250 + EMAIL
    for _ in range(5):
        response = login.post(overlong, TYPED_PASSWORD)
        assert response.status_code == 400
        assert "L'identifiant ne doit pas dépasser 254 caractères." in text_of(response)
        assert "bloqué" not in text_of(response)
    assert verified == []
    assert not app.extensions["redis"].keys("idp:pwd:*")
    monkeypatch.undo()
    success = login.post(EMAIL, PASSWORD)
    assert success.status_code == 303


def test_missing_or_wrong_csrf_token_is_refused_in_french(login):
    for response in (login.post(csrf=False),
                     login.http.post(login.url, data={"csrf_token": "forged", "identifier": EMAIL,
                                                      "password": PASSWORD})):
        assert response.status_code == 400
        assert "Page expirée" in text_of(response)
        assert "Location" not in response.headers
        assert "Traceback" not in response.get_data(as_text=True)
    assert not login.signed_in()


def test_successful_login_returns_to_the_client_with_a_code(login):
    response = login.post()
    assert response.status_code == 303
    back = login.http.get(response.headers["Location"])
    assert back.status_code == 302
    assert back.headers["Location"].startswith(REDIRECT_URI)
    assert "code" in query_of(back.headers["Location"])


@pytest.mark.parametrize("link, title", [("Mot de passe oublié", "Réinitialiser votre mot de passe"),
                                         ("CRÉER UN COMPTE", "Créer votre compte amelipro")])
def test_linked_pages_render_in_french(login, link, title):
    href = Elements(login.page.get_data(as_text=True)).links[link]
    page = login.http.get(href, follow_redirects=True)
    assert page.status_code == 200
    assert '<html lang="fr">' in page.get_data(as_text=True)
    text = text_of(page)
    assert title.lower() in text.lower()
    assert "retour à la connexion" in text.lower()
