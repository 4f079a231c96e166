"""The demo portal's rules: who sees which amelipro service, from the claims received."""

from __future__ import annotations

import pytest

from relying_party_demo import services

CENTRE_USERINFO = {"sub": "c1", "amelipro_centre": {"finess": "750712184",
                                                     "raison_sociale": "CDS DEMO"}}


def _ps(profession: str, *modes: str) -> dict:
    activities = [{"mode": "L", "numero_am": "751234567", "raison_sociale": "Cabinet"}
                  if mode == "L" else {"mode": "S", "finess": "750712184",
                                       "raison_sociale": "CDS DEMO"} for mode in modes]
    return {"sub": "p1", "amelipro_professionnel": {
        "prenom": "KIT", "nom": "DOC", "profession": {"code": profession, "libelle": "x"}},
        "amelipro_activites": activities}


def _codes(userinfo: dict, acr: str = "eidas1", mode: str | None = None) -> list[str]:
    profile = services.profile_from_claims(userinfo, acr)
    activity = next((a for a in profile.activities if a.mode == mode), None)
    return [s.code for s in services.services_for(profile, activity)]


def test_centre_gets_payments_forms_and_covid():
    assert _codes(CENTRE_USERINFO) == ["paiements", "imprimes", "covid"]
    profile = services.profile_from_claims(CENTRE_USERINFO, "eidas1")
    assert (profile.kind, profile.display_name) == ("centre", "CDS DEMO")


@pytest.mark.parametrize(("mode", "expected"), [
    ("L", ["aat", "dmt", "pse"]),
    ("S", ["aat", "dmt", "pse", "covid"]),  # Contact COVID: doctors salaried in a centre
])
def test_doctor_services_depend_on_the_activity_acted_for(mode, expected):
    assert _codes(_ps("10", "L", "S"), mode=mode) == expected


def test_nurse_gets_bsi_only_and_other_accounts_nothing():
    assert _codes(_ps("60", "S"), mode="S") == ["bsi"]
    assert _codes({"sub": "x", "name": "Quelqu'un"}) == []
    assert services.profile_from_claims({"sub": "x"}, None).kind == "unknown"


def test_activities_carry_their_number_libéral_am_salaried_finess():
    profile = services.profile_from_claims(_ps("10", "L", "S"), "eidas1")
    assert [(a.key, a.mode, a.numero) for a in profile.activities] == [
        ("L0", "L", "751234567"), ("S1", "S", "750712184")]
    assert profile.activities[1].label == "Salarié – CDS DEMO"


def test_aat_needs_a_card_session_the_others_do_not():
    aat, dmt = services.SERVICES["aat"], services.SERVICES["dmt"]
    password = services.profile_from_claims(_ps("10", "L"), "eidas1")
    card = services.profile_from_claims(_ps("10", "L"), services.CARD_LEVEL)
    assert services.needs_card(aat, password) and not services.needs_card(aat, card)
    assert not services.needs_card(dmt, password)
