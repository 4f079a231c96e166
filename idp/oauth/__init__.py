"""The OAuth 2.0 / OpenID Connect protocol layer (Authlib grants, endpoints, discovery)."""
