"""The amelipro service catalogue and who may open what, from the claims the IdP sent.

Rules (docs/domain.md): AAT for doctors, dentists and midwives, only after a CPS
card login; DMT and PSE for doctors; BSI for nurses; Contact COVID for centre
directors and doctors salaried in a centre; Paiements and Commandes d'imprimés
for the centre account.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CARD_LEVEL = "eidas3"
DOCTOR, NURSE, DENTIST, MIDWIFE = "10", "60", "40", "50"


@dataclass(frozen=True)
class Service:
    """One amelipro service."""

    code: str
    name: str
    section: str  # "Activités", "Services patient" or "Commandes", as on the portal home
    description: str
    requires_card: bool = False


SERVICES = {s.code: s for s in (
    Service("aat", "Avis d'arrêt de travail (AAT)", "Services patient",
            "Prescrire un arrêt de travail en ligne.", requires_card=True),
    Service("dmt", "Déclaration médecin traitant (DMT)", "Services patient",
            "Enregistrer la déclaration de médecin traitant d'un patient."),
    Service("pse", "Protocole de soins électronique (PSE)", "Services patient",
            "Établir un protocole de soins pour une affection de longue durée."),
    Service("bsi", "Bilan de soins infirmiers (BSI)", "Services patient",
            "Transmettre le bilan de soins infirmiers d'un patient dépendant."),
    Service("covid", "Contact COVID", "Services patient",
            "Déclarer les personnes contacts d'un patient."),
    Service("paiements", "Paiements", "Activités",
            "Consulter les paiements de l'Assurance Maladie au centre."),
    Service("imprimes", "Commandes d'imprimés", "Commandes",
            "Commander les imprimés du centre de santé."),
)}


@dataclass(frozen=True)
class Activity:
    """A practice the professional can act for: libéral (L) or salaried in a centre (S)."""

    key: str
    mode: str
    label: str
    numero: str  # numéro AM of a libéral practice, FINESS of a centre
    address: str = ""


@dataclass(frozen=True)
class Profile:
    """Who is logged in, as far as the portal is concerned."""

    kind: str  # "centre" | "ps" | "unknown"
    display_name: str
    profession_code: str | None = None
    profession_label: str | None = None
    activities: tuple[Activity, ...] = ()
    centre: dict = field(default_factory=dict)
    acr: str | None = None


def profile_from_claims(userinfo: dict, acr: str | None) -> Profile:
    """Build the profile from UserInfo (scopes amelipro_centre and amelipro_activites)."""
    centre = userinfo.get("amelipro_centre")
    if centre:
        return Profile("centre", centre.get("raison_sociale") or userinfo.get("name", ""),
                       centre=centre, acr=acr)
    person = userinfo.get("amelipro_professionnel")
    if not person:
        return Profile("unknown", userinfo.get("name") or userinfo.get("sub", ""), acr=acr)
    activities = tuple(_activity(i, a) for i, a in enumerate(userinfo.get("amelipro_activites", [])))
    profession = person.get("profession") or {}
    name = " ".join(x for x in (person.get("prenom"), person.get("nom")) if x)
    return Profile("ps", name, profession.get("code"), profession.get("libelle"), activities,
                   acr=acr)


def _activity(index: int, data: dict) -> Activity:
    mode = data.get("mode", "")
    if mode == "S":
        label = f"Salarié – {data.get('raison_sociale') or data.get('finess')}"
        numero = data.get("finess", "")
    else:
        label = f"Libéral – {data.get('raison_sociale') or 'Cabinet'}"
        numero = data.get("numero_am", "")
    return Activity(f"{mode}{index}", mode, label, numero, data.get("adresse", ""))


def services_for(profile: Profile, activity: Activity | None) -> list[Service]:
    """The services the profile may use, acting for ``activity``."""
    if profile.kind == "centre":
        return [SERVICES[c] for c in ("paiements", "imprimes", "covid")]
    if profile.kind != "ps":
        return []
    codes = []
    if profile.profession_code in (DOCTOR, DENTIST, MIDWIFE):
        codes.append("aat")
    if profile.profession_code == DOCTOR:
        codes += ["dmt", "pse"]
        if activity is not None and activity.mode == "S":
            codes.append("covid")
    if profile.profession_code == NURSE:
        codes.append("bsi")
    return [SERVICES[c] for c in codes]


def needs_card(service: Service, profile: Profile) -> bool:
    """True when the service requires a card login the current session does not have."""
    return service.requires_card and profile.acr != CARD_LEVEL
