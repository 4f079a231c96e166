"""Why a card was refused: a stable code for logs and tests, a French message for the page."""

from __future__ import annotations


class CardRejected(Exception):
    """The card, its certificate or its proof was refused."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


RETRY = "Recommencez la connexion par carte."

MALFORMED = ("malformed", "Les informations transmises par votre carte CPS sont illisibles. "
             + RETRY)
EXPIRED = ("expired", "Votre carte CPS a expiré : elle ne permet plus de vous connecter. "
           "Commandez une nouvelle carte auprès de l'ANS.")
NOT_YET_VALID = ("not_yet_valid", "Votre carte CPS n'est pas encore active. Réessayez plus tard.")
REVOKED = ("revoked", "Votre carte CPS a été révoquée (carte déclarée perdue, volée ou remplacée) : "
           "elle ne permet plus de vous connecter.")
UNKNOWN_CA = ("unknown_ca", "Cette carte n'a pas été émise par une autorité de certification "
              "reconnue (IGC-Santé) : elle ne permet pas de vous connecter.")
KEY_USAGE = ("key_usage", "Le certificat présenté par cette carte ne permet pas l'authentification "
             "(usage de clé incorrect).")
REVOCATION_UNKNOWN = ("revocation_unknown", "La validité de votre carte CPS ne peut pas être "
                      "vérifiée pour le moment. Réessayez dans quelques minutes ou connectez-vous "
                      "avec votre identifiant et votre mot de passe.")
BAD_SIGNATURE = ("bad_signature", "La signature de votre carte ne correspond pas à cette demande "
                 "de connexion. " + RETRY)
CHALLENGE = ("challenge", "Cette demande de connexion par carte a expiré ou a déjà été utilisée. "
             + RETRY)
NO_IDENTITY = ("no_identity", "Le certificat de cette carte ne contient pas d'identifiant national "
               "de professionnel de santé (RPPS ou ADELI).")
NO_CERTIFICATE = ("no_certificate", "Aucun certificat de carte CPS n'a été présenté par votre "
                  "navigateur. Insérez votre carte et recommencez, ou utilisez le composant de "
                  "lecture de carte.")
PENDING = ("pending", "Votre compte n'est pas encore activé : cliquez sur le lien « Valider "
           "l'adresse e-mail » du message que nous vous avons envoyé. Un nouveau message vient "
           "de vous être envoyé.")
INACTIVE = ("inactive", "Votre compte amelipro est désactivé. Contactez l'assistance technique.")


def reject(reason: tuple[str, str]) -> CardRejected:
    """The exception for one of the reasons above."""
    return CardRejected(*reason)
