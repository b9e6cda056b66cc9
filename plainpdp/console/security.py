"""Session cookies and CSRF tokens for the console.

The session cookie carries the admin library's session token and nothing
else: who is signed in, and whether that session still stands, is the
store's answer on every request, so signing out ends the session for every
copy of the cookie. CSRF tokens are an HMAC of the session token under a
key held only by this process: one token per session, useless for any other
session, and compared in constant time. Before sign-in a random
*pre-session* cookie plays the session's part, so the sign-in form itself
cannot be posted from another site.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

CSRF_FIELD = "csrf_token"
_SECRET_PATH = re.compile(r"^/reset/.+")


def redact_path(path: str) -> str:
    """A request path fit for a log or the audit: a one-time link's token is cut out."""
    return _SECRET_PATH.sub("/reset/[redacted]", path)


@dataclass(frozen=True)
class CookiePolicy:
    """How the console's cookies are sent.

    ``secure`` adds the Secure flag and the ``__Host-`` name prefix (the
    browser then refuses the cookie over plain HTTP and from any subdomain);
    use it whenever the console is served over TLS, directly or behind a
    proxy. ``samesite`` is ``strict`` by default: no other site can make the
    browser send the session cookie at all.
    """

    secure: bool = False
    samesite: str = "strict"
    max_age: int = 8 * 3600

    def name(self, base: str) -> str:
        return f"__Host-{base}" if self.secure else base

    @property
    def session(self) -> str:
        return self.name("plainpdp-session")

    @property
    def presession(self) -> str:
        return self.name("plainpdp-presession")

    def set(self, response: Response, name: str, value: str) -> None:
        response.set_cookie(
            name, value, max_age=self.max_age, path="/", secure=self.secure,
            httponly=True, samesite=self.samesite,  # type: ignore[arg-type]
        )

    def clear(self, response: Response, name: str) -> None:
        response.delete_cookie(
            name, path="/", secure=self.secure, httponly=True,
            samesite=self.samesite,  # type: ignore[arg-type]
        )


class CsrfGuard:
    """Issues and checks per-session CSRF tokens."""

    def __init__(self, key: bytes | None = None):
        self._key = key or secrets.token_bytes(32)

    def token_for(self, binding: str) -> str:
        """The one token that goes with ``binding`` (a session or pre-session)."""
        return hmac.new(self._key, b"csrf\x00" + binding.encode(), hashlib.sha256).hexdigest()

    def check(self, binding: str | None, submitted: object) -> bool:
        """True only for the token of this very binding; constant time."""
        if not binding or not isinstance(submitted, str) or not submitted:
            return False
        return hmac.compare_digest(self.token_for(binding).encode(), submitted.encode())


def new_presession() -> str:
    return secrets.token_urlsafe(32)


def session_cookie(request: Request, cookies: CookiePolicy) -> str | None:
    value = request.cookies.get(cookies.session)
    return value or None
