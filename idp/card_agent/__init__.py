"""The CPS card agent (workstation component)."""
