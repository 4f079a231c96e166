"""The login interaction: pages that decide how a person authenticates."""
