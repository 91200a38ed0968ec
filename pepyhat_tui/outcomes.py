"""What each data-plane answer means for the app that called it.

The data plane's refusals (``401 missing_api_key`` ... ``429 rate_limited``) and
its two 200s that deny (``found: false``, ``active: false``), each with one
sentence an operator can hand to the app's owner.  Try a request shows them
under the status line.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    status: int
    code: str
    meaning: str  # for the calling app: what went wrong and what to do

    def line(self) -> str:
        """``403 key_revoked — this key was revoked: the app must be given a new key``."""
        return f"{self.status} {self.code} — {self.meaning}"


# In the order the data plane checks them.
OUTCOMES: dict[str, Outcome] = {
    o.code: o
    for o in (
        Outcome(401, "missing_api_key", "no X-API-Key header: the app must send its key in X-API-Key "
                                        "(not Authorization, not the URL)"),
        Outcome(400, "missing_app", "no ?app= in the query: the app must name itself (?app=<slug>)"),
        Outcome(400, "secret_in_url", "a key in the URL: keys travel in X-API-Key only; "
                                      "this one is now in logs: rotate it"),
        Outcome(403, "invalid_api_key", "not a key the service knows (malformed, bad checksum or unknown): "
                                        "check the key the app is configured with"),
        Outcome(403, "key_revoked", "this key was revoked: the app must be given a new key"),
        Outcome(403, "key_expired", "this key has expired (or its rotation's grace ended): "
                                    "the app must be given its successor or a new key"),
        Outcome(404, "app_not_found", "no app has this slug: check the app's ?app= setting"),
        Outcome(403, "key_not_for_app", "the key's scopes do not reach this app's authz: "
                                        "the app must use its own key (or the key's scopes be widened)"),
        Outcome(429, "rate_limited", "the key's per-minute limit is used up: the app must wait Retry-After "
                                     "seconds, and should cache answers"),
    )
}

UNKNOWN_USER = Outcome(200, "found: false", "no such user: no roles, no permissions; the app must deny")
DEACTIVATED = Outcome(200, "active: false", "the user is deactivated: no roles, no permissions "
                                            "(grants kept); the app must deny")


def refusal(status: int, code: str) -> str:
    """The line for a refusal; a code not in the table still shows its status and code."""
    known = OUTCOMES.get(code)
    if known is not None and known.status == status:
        return known.line()
    if known is not None:  # the same code under another status: say both, trust the service's status
        return f"{status} {code} — {known.meaning}"
    return f"{status} {code}"


def answer(found: bool, active: bool) -> Outcome | None:
    """What a 200 that denies means; None for a live user (their roles say the rest)."""
    if not found:
        return UNKNOWN_USER
    if not active:
        return DEACTIVATED
    return None
