"""The back-office of the CPAM's IT advisers (CIS): its own accounts, roles and audit trail."""

# conseiller: every action; lecteur: search and read only.
ROLES = ("conseiller", "lecteur")
