"""CPS smart-card login, server side.

Three separate pieces, as in Keycloak's X.509 authenticator: certificate
validation (:mod:`idp.cps.validation`, :mod:`idp.cps.crl`), identity extraction
(:mod:`idp.cps.identity`) and account mapping (:mod:`idp.cps.mapping`). The
card reaches the server through the local card agent (challenge signed with
the card, :mod:`idp.cps.challenges`) or through a TLS-terminating proxy
(:mod:`idp.cps.proxy_header`). See docs/cps.md.
"""
