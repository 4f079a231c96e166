"""Claims for the centre and for a professional's activities (amelipro and Pro Santé Connect)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

import idp
from idp.extensions import db
from idp.models import Enrollment
from idp.referentials.importer import import_finess, import_rpps

SAMPLES = Path(idp.__file__).parent / "data" / "samples"
CDS = "750712184"
SCOPES = "openid profile email amelipro_centre amelipro_activites scope_all"


@pytest.fixture
def referentials(app):
    """The sample FINESS and RPPS extracts, imported."""
    with app.app_context():
        import_finess(SAMPLES / "etalab-cs1100507-stock-sample.csv")
        import_rpps(SAMPLES / "PS_LibreAcces_Personne_activite_sample.txt")


@pytest.fixture
def client_id(oidc):
    """A client registered for every amelipro scope."""
    return oidc.register_client(scope=SCOPES)


def _userinfo(oidc, client, scope=SCOPES, **login) -> dict:
    tokens = oidc.tokens(*client, scope=scope, **login)
    response = oidc.client.get("/userinfo",
                               headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 200
    return response.get_json()


def _enroll(app, rpps: str, start: date, end: date | None = None) -> None:
    with app.app_context():
        db.session.add(Enrollment(person_kind="rpps", person_id=rpps, finess=CDS,
                                  profession_code="10", start_date=start, end_date=end,
                                  created_by="cis.test"))
        db.session.commit()


def _modes(info: dict) -> list[str]:
    return [a["mode"] for a in info.get("amelipro_activites", [])]


def test_a_salaried_activity_appears_only_while_enrolled(app, oidc, referentials, client_id):
    oidc.create_ps(am="751234567")
    before = _userinfo(oidc, client_id)
    assert _modes(before) == ["L"]  # the RPPS lists the centre, but no enrollment yet
    assert before["amelipro_activites"][0]["numero_am"] == "751234567"
    assert before["amelipro_professionnel"]["id_nat"] == "899700427885"
    assert before["amelipro_professionnel"]["profession"]["code"] == "10"

    _enroll(app, "99700427885", date.today() - timedelta(days=1))
    after = _userinfo(oidc, client_id)
    assert _modes(after) == ["L", "S"]
    salaried = after["amelipro_activites"][1]
    assert salaried["finess"] == CDS and salaried["secteur"] == "SA05"
    assert salaried["raison_sociale"].startswith("CENTRE DE SANTE DEMO PARIS 9")


def test_ended_and_future_enrollments_give_no_salaried_activity(app, oidc, referentials,
                                                                client_id):
    oidc.create_ps()
    _enroll(app, "99700427885", date.today() - timedelta(days=30), date.today())
    _enroll(app, "99700427885", date.today() + timedelta(days=5))
    assert "S" not in _modes(_userinfo(oidc, client_id))


def test_centre_claims_and_no_activities_for_a_centre(oidc, referentials, client_id):
    oidc.create_centre(finess=CDS)
    info = _userinfo(oidc, client_id, identifier=CDS)
    centre = info["amelipro_centre"]
    assert centre["finess"] == CDS and centre["finess_juridique"] == "750712176"
    assert centre["secteur"] == "SA05" and centre["role"]["code"] == "FON-09"
    assert centre["caisse_gestionnaire"]["code"] == "751"
    assert "amelipro_activites" not in info and "SubjectRefPro" not in info


def test_a_professional_gets_no_centre_claims(oidc, referentials, client_id):
    oidc.create_ps()
    assert "amelipro_centre" not in _userinfo(oidc, client_id)


def test_scope_all_has_the_pro_sante_connect_shape(app, oidc, referentials, client_id):
    oidc.create_ps(am="751234567")
    _enroll(app, "99700427885", date.today())
    info = _userinfo(oidc, client_id, scope="openid scope_all")
    assert info["SubjectNameID"] == info["preferred_username"] == "899700427885"
    assert info["SubjectRole"] == ["10^1.2.250.1.213.1.1.5.5"]
    assert info["otherIds"] == [{"identifiant": "899700427885", "origine": "RPPS", "qualite": 1}]
    exercice = info["SubjectRefPro"]["exercices"][0]
    assert exercice["codeProfession"] == "10" and exercice["nomDexercice"] == "DOC0042788"
    salaried = [a for a in exercice["activities"] if a["codeModeExercice"] == "S"]
    assert salaried == [{
        "codeModeExercice": "S", "codeSecteurDactivite": "SA05",
        "identifiantTechniqueDeLaStructure": f"F{CDS}",
        "raisonSocialeSite": salaried[0]["raisonSocialeSite"], "codePostal": "75009",
        "bureauCedex": "75009 PARIS", "numeroFinessSite": CDS,
        "numeroFinessetablissementJuridique": "750712176"}]
    assert "amelipro_activites" not in info  # only what the scope asked for


def test_scopes_the_client_is_not_registered_for_release_nothing(oidc, referentials):
    client = oidc.register_client(scope="openid profile")
    oidc.create_ps()
    info = _userinfo(oidc, client, scope=SCOPES)
    assert "amelipro_professionnel" not in info and "SubjectNameID" not in info
    assert info["family_name"] == "DOC0042788"


def test_discovery_lists_the_scopes_and_claims(client):
    document = client.get("/.well-known/openid-configuration").get_json()
    for scope in ("amelipro_centre", "amelipro_activites", "scope_all"):
        assert scope in document["scopes_supported"]
    for claim in ("amelipro_centre", "amelipro_activites", "SubjectRefPro", "SubjectNameID"):
        assert claim in document["claims_supported"]
