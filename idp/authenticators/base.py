"""The contract every login method implements.

An authenticator decides *how* a person proves who they are. It is handed the
request context it needs (IP, user agent, what the login page posted) and
returns a :class:`LoginResult`. It never reads or writes the browser session
nor any OAuth object: the interaction layer turns a successful result into a
login session, and the protocol layer turns that into codes and tokens.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar


class Outcome(enum.Enum):
    """What came of one login attempt."""

    SUCCESS = "success"
    FAILURE = "failure"          # wrong credentials (deliberately vague)
    INVALID = "invalid"          # malformed input: nothing was checked nor counted
    LOCKED = "locked"            # too many failures: credentials not even evaluated
    DISABLED = "disabled"        # the method no longer works for this account
    UNAVAILABLE = "unavailable"  # a dependency is down: fail closed


@dataclass(frozen=True)
class LoginContext:
    """What an authenticator may know of the request."""

    ip: str | None = None
    user_agent: str | None = None
    # State the authenticator returned from begin(), kept for it by the login pages.
    state: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Challenge:
    """What the login page must ask: the fields to show, and state to keep until verify()."""

    method: str
    fields: tuple[str, ...]
    state: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoginResult:
    """The result handed back to the interaction layer."""

    outcome: Outcome
    method: str
    account_id: int | None = None
    acr: str | None = None
    amr: tuple[str, ...] = ()
    auth_time: int | None = None
    # A French, page-level message (banner) and French messages tied to form fields.
    message: str | None = None
    field_errors: Mapping[str, str] = field(default_factory=dict)
    http_status: int = 200

    @property
    def succeeded(self) -> bool:
        """True only for a successful login of a known account."""
        return self.outcome is Outcome.SUCCESS and self.account_id is not None


class Authenticator(ABC):
    """A login method. Subclasses set the class attributes and implement both steps."""

    #: Registry key, also the ``method`` of audit events and results.
    name: ClassVar[str]
    #: French label of the button or section on the login page.
    label: ClassVar[str]
    #: Authentication context class reference a success yields.
    acr: ClassVar[str]
    #: RFC 8176 authentication method references a success yields.
    amr: ClassVar[tuple[str, ...]]

    @abstractmethod
    def begin(self, context: LoginContext) -> Challenge:
        """Start a login: say which fields to ask and what state to keep."""

    @abstractmethod
    def verify(self, context: LoginContext, response: Mapping[str, str]) -> LoginResult:
        """Check what the user sent; return the result, never raise for bad input."""
