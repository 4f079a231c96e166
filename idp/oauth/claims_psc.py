"""Scope ``scope_all``: the Pro Santé Connect UserInfo shape, with PSC's exact key names.

An RP written for Pro Santé Connect reads these claims unchanged. Only
professionals have them; a centre account gets none. docs/claims.md maps each key.
"""

from __future__ import annotations

from idp.accounts import activities as domain
from idp.models import Account
from idp.oauth.claims import register_scope

# TRE_G15 (profession) codes are qualified by their OID in SubjectRole.
PROFESSION_OID = "1.2.250.1.213.1.1.5.5"


def _activity(a: domain.Activity) -> dict:
    item = {"codeModeExercice": a.mode, "codeSecteurDactivite": a.sector,
            "identifiantTechniqueDeLaStructure": a.structure_id, "raisonSocialeSite": a.name,
            "codePostal": a.postal_code,
            "bureauCedex": f"{a.postal_code or ''} {(a.town or '').upper()}".strip() or None}
    if a.mode == "S":
        item.update(numeroFinessSite=a.finess_site,
                    numeroFinessetablissementJuridique=a.finess_ej)
    return {k: v for k, v in item.items() if v is not None}


def psc_claims(account: Account) -> dict:
    """SubjectNameID, SubjectRole, SubjectRefPro.exercices[].activities[], otherIds..."""
    person = domain.person_of(account)
    if person is None or person.national_id is None:
        return {}
    activities = [_activity(a) for a in domain.activities_of(account)]
    exercice = {"codeProfession": person.profession_code,
                "codeCategorieProfessionnelle": person.category_code,
                "codeCiviliteDexercice": person.exercise_civility,
                "nomDexercice": person.family_name, "prenomDexercice": person.given_name,
                "codeTypeSavoirFaire": person.skill_type, "codeSavoirFaire": person.skill_code,
                "activities": activities}
    claims = {
        "SubjectNameID": person.national_id,
        "preferred_username": person.national_id,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "SubjectRole": [f"{person.profession_code}^{PROFESSION_OID}"],
        "otherIds": [{"identifiant": person.national_id, "origine": person.id_origin,
                      "qualite": 1}],
        "SubjectRefPro": {"codeCivilite": person.civility,
                          "exercices": [{k: v for k, v in exercice.items() if v is not None}]},
    }
    if activities:
        claims["SubjectOrganization"] = activities[0]["raisonSocialeSite"]
        claims["SubjectOrganizationID"] = activities[0]["identifiantTechniqueDeLaStructure"]
    return claims


register_scope("scope_all", "Vos informations professionnelles au format Pro Santé Connect",
               psc_claims, claims=["SubjectNameID", "preferred_username", "SubjectRole",
                                   "SubjectOrganization", "SubjectOrganizationID", "otherIds",
                                   "SubjectRefPro"])
