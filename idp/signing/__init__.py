"""Signing keys: their life cycle (next → current → retired → removed), storage and rotation.

- ``material``: generating, serialising (encrypted at rest) and loading key material.
- ``records``: what is known of a key besides its material (state and dates).
- ``stores``: where keys live — files (embedded default) or the database (clusters).
- ``service``: the in-memory view the IdP signs with, and the rotation operations.
"""
