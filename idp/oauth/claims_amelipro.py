"""Scopes ``amelipro_centre`` and ``amelipro_activites``: the account as amelipro sees it.

Each provider returns ``{}`` for an account it does not fit (the centre scope
for a professional, the activities scope for a centre): no claims, no error.
docs/claims.md maps every claim to its source.
"""

from __future__ import annotations

from idp.accounts import activities as domain
from idp.models import Account
from idp.oauth.claims import register_scope


def centre_claims(account: Account) -> dict:
    """The health centre, acting through its director."""
    centre = domain.centre_of(account)
    if centre is None:
        return {}
    return {"amelipro_centre": {
        "finess": centre.finess,
        "finess_juridique": centre.finess_ej,
        "raison_sociale": centre.name,
        "adresse": ", ".join(centre.address_lines),
        "code_postal": centre.postal_code,
        "commune": centre.town,
        "secteur": domain.SECTOR_CENTRE,
        "caisse_gestionnaire": {"code": centre.caisse_code, "libelle": centre.caisse_label},
        "role": {"code": domain.DIRECTOR_FUNCTION, "libelle": "Directeur du centre de santé"},
    }}


def activities_claims(account: Account) -> dict:
    """The professional and their libéral and (enrolled) salaried activities."""
    person = domain.person_of(account)
    if person is None:
        return {}
    activities = []
    for a in domain.activities_of(account):
        item = {"mode": a.mode, "raison_sociale": a.name, "secteur": a.sector,
                "adresse": ", ".join(x for x in (a.street, f"{a.postal_code or ''} {a.town or ''}".strip())
                                     if x)}
        if a.mode == "L":
            item["numero_am"] = a.am_number
        else:
            item.update(finess=a.finess_site, finess_juridique=a.finess_ej,
                        date_debut=a.start_date.isoformat() if a.start_date else None)
        activities.append(item)
    return {
        "amelipro_professionnel": {
            "id_nat": person.national_id, "origine": person.id_origin,
            "nom": person.family_name, "prenom": person.given_name,
            "profession": {"code": person.profession_code, "libelle": person.profession_label},
        },
        "amelipro_activites": activities,
    }


register_scope("amelipro_centre",
               "L'identité de votre centre de santé (FINESS, raison sociale, adresse, caisse)",
               centre_claims, claims=["amelipro_centre"])
register_scope("amelipro_activites",
               "Votre identité professionnelle et vos activités (libérales et salariées)",
               activities_claims, claims=["amelipro_professionnel", "amelipro_activites"])
