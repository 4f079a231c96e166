"""Account state: identifiers, passwords, lockout, audit."""
