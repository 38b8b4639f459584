"""The desk's calls about customers as people, part of the :class:`~itsmcore.desk.Desk` facade.

Who they are (the directories), how they sign in (passwords, sessions, API tokens for
integrations), what they chose (preferences) and one view of each (the profile); split
from the facade module so that each stays small. One-line delegations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta

from ..model import ConfigurationItem, Customer, CustomerProfile, PreferenceChange, Preferences
from .customers import Customers
from .preferences import PreferenceBook
from .profiles import Profiles
from .signin import Sessions, SignIn
from .tokens import ApiToken, ApiTokens


class Accounts:
    """Customers, sign-in, API tokens, preferences and profiles; :class:`~itsmcore.desk.Desk` builds the parts."""

    _customers: Customers
    _preferences: PreferenceBook
    _profiles: Profiles
    _signin: SignIn
    _sessions: Sessions
    _tokens: ApiTokens

    def get_customer(self, customer_id: str) -> Customer:
        """The customer with this id; UnknownCustomer otherwise."""
        return self._customers.get(customer_id)

    def find_customer(self, customer_id: str) -> Customer | None:
        """The customer with this id, or ``None``."""
        return self._customers.find(customer_id)

    def customer_by_email(self, email: str) -> Customer | None:
        """The customer with this email address, for channels that only know an address."""
        return self._customers.by_email(email)

    def customer_names(self, customer_ids: Iterable[str]) -> dict[str, str]:
        """The name to show for each of these people, by id (their id where the directory has none).

        What a page of demands needs: a look-up of the people on it, not a read of every
        customer in the directory.
        """
        return self._customers.names(customer_ids)

    def list_customers(self) -> list[Customer]:
        """Every customer of every directory, by id."""
        return self._customers.all()

    def configuration_items(self, customer_id: str) -> list[ConfigurationItem]:
        """The customer's devices and other CIs, from the directories."""
        return self._customers.configuration_items(customer_id)

    def preferences(self, customer_id: str) -> Preferences:
        """How the customer wants to be contacted: their stored choices laid over the directory's."""
        return self._preferences.get(customer_id)

    def set_preferences(
        self,
        customer_id: str,
        *,
        by: str,
        channels: Sequence[str] | None = None,
        quiet_hours: str | None = None,
        time_zone: str | None = None,
        language: str | None = None,
        surveys: bool | None = None,
    ) -> Preferences:
        """Change what is given and keep an audit entry per change (``by``: who). ``quiet_hours`` is
        ``"22:00-07:00"`` in ``time_zone`` (``""`` clears them). A channel that cannot reach the
        customer, an unknown language or time zone is :class:`~itsmcore.errors.InvalidInput` naming what is offered."""
        return self._preferences.set(
            customer_id,
            by=by,
            channels=channels,
            quiet_hours=quiet_hours,
            time_zone=time_zone,
            language=language,
            surveys=surveys,
        )

    def offered_channels(self, customer_id: str) -> list[str]:
        """The channels a customer may choose from: offered by the deployment and able to reach them."""
        return self._preferences.offered(self._customers.get(customer_id))

    def preference_changes(self, customer_id: str, limit: int = 50) -> list[PreferenceChange]:
        """Who changed which of the customer's preferences, from what, when; newest first."""
        return self._preferences.changes(customer_id, limit)

    def customer_profile(self, customer_id: str) -> CustomerProfile:
        """One view of a customer: identity, devices, subscriptions, demands on every channel with the
        sentence they read, announcements affecting them, survey answers and their trend, reviews."""
        return self._profiles.profile(customer_id)

    def authenticate(
        self,
        login: str,
        password: str,
        *,
        address: str | None = None,
        attempts: int | None = None,
        window: timedelta | None = None,
    ) -> Customer | None:
        """The customer whose password this is (plugins first, then the directory), else ``None``.

        Guarded against password guessing by the ``[security]`` limits, counted in the
        database so that every process sharing it sees the same count: while the login
        (case-folded), or ``address`` (the client's network address, when known), has had
        too many failures within the window, raises :class:`~itsmcore.errors.TooManyAttempts`
        without asking the directory. A wrong password, an unknown login and an empty
        password all count alike, and all return ``None``: nothing says which it was.
        Success clears the login's failures. ``attempts`` and ``window`` override the
        deployment's per-login limit for this call (a channel with a rule of its own).
        """
        return self._signin.authenticate(login, password, address=address, attempts=attempts, window=window)

    def unlock_sign_in(self, login: str) -> int:
        """Forget a login's failed sign-ins, so the customer may try again now; returns how many were forgotten.

        What the service desk does for a customer locked out by the ``[security]`` limit
        (``itsm customer unlock LOGIN``), on every process at once since the count is shared.
        """
        return self._signin.unlock(login)

    def begin_session(self, customer_id: str, *, hours: float = 8.0) -> str:
        """Start a signed-in session for a customer; returns its token, for the channel's cookie.

        The store keeps only a hash of the token. :meth:`session_customer` tells who a token
        belongs to while the session lives; :meth:`end_session` ends it on every process.
        """
        return self._sessions.begin(customer_id, hours)

    def session_customer(self, token: object) -> str | None:
        """The customer id of a live session token (neither ended nor expired), else ``None``."""
        return self._sessions.customer(token)

    def end_session(self, token: object) -> bool:
        """End a session (signing out): a copy of its cookie stops working at once. Whether it was live."""
        return self._sessions.end(token)

    def end_sessions(self, customer_id: str) -> int:
        """End every live session of a customer (``itsm customer sign-out ID``); how many were ended."""
        return self._sessions.end_all(customer_id)

    def new_api_token(self, name: str, scopes: Iterable[str]) -> tuple[ApiToken, str]:
        """A new API token for an integration: its record and the secret, shown once (``itsm api-token new``)."""
        return self._tokens.new(name, scopes)

    def api_tokens(self, *, revoked: bool = True) -> list[ApiToken]:
        """Every API token by name, never a secret (``itsm api-token list``)."""
        return self._tokens.listing(revoked=revoked)

    def revoke_api_token(self, name: str) -> ApiToken:
        """Revoke an API token: every process refuses it at once. NotFound, with a close match, otherwise."""
        return self._tokens.revoke(name)

    def api_token(self, secret: object, *, limit: int = 0, window: int = 60) -> ApiToken | None:
        """The live API token a secret is, else None; past ``limit`` requests in ``window`` s, RateLimited (429)."""
        return self._tokens.check(secret, limit=limit, window=window)
