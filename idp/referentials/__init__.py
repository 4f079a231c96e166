"""Reference data (référentiels): the public FINESS and RPPS extracts, parsed and imported."""
