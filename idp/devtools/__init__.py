"""Development and test tools: a test IGC-Santé-like PKI and a virtual CPS card. Never in production."""
