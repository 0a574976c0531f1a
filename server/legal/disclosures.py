"""When information about a client may be given to another service. Pure: no I/O.

A disclosure (tietojen luovutus) names its basis, one of `BASES`:

- `consent`: a consent document of the case (`mobile_schema.consent`) that holds on the
  day the information was given (`check_consent`). It is refused when the consent is
  missing (no such consent in the case), not yet valid (`valid_from` after the day),
  expired (`valid_to` before the day), withdrawn (`withdrawn_at` on or before the day,
  Helsinki time), or out of scope.
  **Out of scope** means, with the fields a consent has: the recipient is not the
  service the consent names (`service_name`, compared without regard to case and
  spacing), or the consent names no service at all. The consent's `scope` is the
  client's own words about *what* may be shared; no rule can read it, so the worker
  recording a disclosure confirms it, and the disclosure log keeps which documents went.
- `statute`: a provision that obliges or allows the disclosure without consent, one of
  the fixed table `STATUTES` (anything else is refused, `unknown_statute`).
- `client`: a copy given to the client themselves (their right of access; no consent
  needed).

Each refusal is a domain error with a stable code (`server.errors`), whose message
names the consent and why, so a worker can fix the record or ask the client again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from ..errors import (
    ConsentExpired,
    ConsentMissing,
    ConsentNotYetValid,
    ConsentOutOfScope,
    ConsentWithdrawn,
    DisclosureRefused,
    InvalidInput,
    UnknownStatute,
)

BASES = ("consent", "statute", "client")
HELSINKI = ZoneInfo("Europe/Helsinki")


@dataclass(frozen=True)
class Statute:
    """A provision that is a basis for disclosing without consent, cited per language."""

    code: str
    fi: str
    sv: str
    en: str


# The provisions family social guidance discloses under without the client's consent.
# Codes are stable (they are stored in the disclosure log); an organisation's legal
# counsel extends the table, never renames a code.
STATUTES: dict[str, Statute] = {
    s.code: s
    for s in (
        Statute(
            "LSL_25",
            "Lastensuojelulaki (417/2007) 25 § – lastensuojeluilmoitus",
            "Barnskyddslagen (417/2007) 25 § – barnskyddsanmälan",
            "Child Welfare Act (417/2007) s. 25 – child welfare notification",
        ),
        Statute(
            "LSL_25A",
            "Lastensuojelulaki (417/2007) 25 a § – ennakollinen lastensuojeluilmoitus",
            "Barnskyddslagen (417/2007) 25 a § – föregripande barnskyddsanmälan",
            "Child Welfare Act (417/2007) s. 25 a – anticipatory notification",
        ),
        Statute(
            "SHL_35",
            "Sosiaalihuoltolaki (1301/2014) 35 § – yhteydenotto sosiaalihuoltoon",
            "Socialvårdslagen (1301/2014) 35 § – kontakt med socialvården",
            "Social Welfare Act (1301/2014) s. 35 – contacting social services",
        ),
        Statute(
            "SHL_41",
            "Sosiaalihuoltolaki (1301/2014) 41 § – monialainen yhteistyö",
            "Socialvårdslagen (1301/2014) 41 § – sektorsövergripande samarbete",
            "Social Welfare Act (1301/2014) s. 41 – multi-professional cooperation",
        ),
        Statute(
            "POLL_4_3",
            "Poliisilaki (872/2011) 4 luku 3 § – poliisin tiedonsaantioikeus",
            "Polislagen (872/2011) 4 kap. 3 § – polisens rätt att få uppgifter",
            "Police Act (872/2011) ch. 4 s. 3 – the police's right to information",
        ),
    )
}


def check_basis(basis: str, consent_id: str | None, statute: str | None) -> None:
    """The basis and what it needs: a consent id for `consent`, a statute code of the
    table for `statute`, neither for `client` (InvalidInput / UnknownStatute)."""
    if basis not in BASES:
        raise InvalidInput(f"basis must be one of {', '.join(BASES)}", field="basis")
    if basis == "consent" and not consent_id:
        raise InvalidInput("a disclosure on consent names the consent (consent_id)",
                           field="consent_id")  # fmt: skip
    if basis != "consent" and consent_id:
        raise InvalidInput("consent_id goes only with the basis consent", field="consent_id")
    if basis == "statute" and statute not in STATUTES:
        raise UnknownStatute(
            f"statute must be one of {', '.join(STATUTES)}", field="statute", statute=statute
        )
    if basis != "statute" and statute:
        raise InvalidInput("statute goes only with the basis statute", field="statute")


def check_consent(consent: dict | None, consent_id: str, recipient: str, on: date) -> None:
    """Raise the reason `consent` does not allow disclosing to `recipient` on `on`."""
    problem = consent_problem(consent, consent_id, recipient, on)
    if problem is not None:
        raise problem


def consent_problem(
    consent: dict | None, consent_id: str, recipient: str, on: date
) -> DisclosureRefused | None:
    """Why the consent does not hold for this disclosure (None: it does), checked in the
    order a worker would fix them: missing, withdrawn, not yet valid, expired, scope."""
    if consent is None or consent.get("type") != "consent":
        return ConsentMissing(f"there is no consent {consent_id} in this case",
                              consent_id=consent_id)  # fmt: skip
    service = consent.get("service_name") or ""
    named = f"consent {consent_id} ({service or 'no service named'})"
    withdrawn = withdrawn_on(consent)
    if withdrawn is not None and withdrawn <= on:
        return ConsentWithdrawn(
            f"{named} was withdrawn on {withdrawn.isoformat()}",
            consent_id=consent_id, withdrawn_on=withdrawn.isoformat(),
        )  # fmt: skip
    valid_from, valid_to = consent.get("valid_from") or "", consent.get("valid_to")
    if valid_from > on.isoformat():
        return ConsentNotYetValid(
            f"{named} is valid only from {valid_from}, not on {on.isoformat()}",
            consent_id=consent_id, valid_from=valid_from,
        )  # fmt: skip
    if valid_to and valid_to < on.isoformat():
        return ConsentExpired(
            f"{named} expired on {valid_to}, before {on.isoformat()}",
            consent_id=consent_id, valid_to=valid_to,
        )  # fmt: skip
    if not service or not same_service(service, recipient):
        return ConsentOutOfScope(
            f"{named} does not cover disclosing to {recipient!r}:"
            " the recipient is not the service the consent names",
            consent_id=consent_id, service_name=service,
        )  # fmt: skip
    return None


def same_service(a: str, b: str) -> bool:
    """The same service name, whatever the case and spacing ("Päiväkoti  vaahtera")."""
    return _plain(a) == _plain(b)


def withdrawn_on(consent: dict) -> date | None:
    """The Helsinki day a consent was withdrawn (None: it stands)."""
    value = consent.get("withdrawn_at")
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(HELSINKI).date() if moment.tzinfo else moment.date()


def _plain(name: str) -> str:
    return " ".join(name.split()).casefold()
