"""Creating and changing accounts, with the rules both the admin API and the web's
/admin page follow (one place, so the two never drift apart).

An administrator cannot change their own role or deactivate themselves (someone else
must, so a site never locks out its last administrator by a slip). Deactivating an
account also revokes its devices: someone who no longer works here keeps no client
data on a phone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import Forbidden, InvalidInput, NotFoundError
from .accounts import PASSWORD_LENGTH
from .revocation import revoke_devices_of

if TYPE_CHECKING:
    from ..site import Site

DISPLAY_NAME_LENGTH = (1, 200)


def create_account(
    site: Site,
    actor: str,
    username: str,
    display_name: str,
    role: str,
    team_id: str | None,
    password: str,
) -> str:
    """A new account with a password; its id. The team must exist."""
    if team_id and not site.directory.one("SELECT 1 FROM teams WHERE id = ?", (team_id,)):
        raise NotFoundError(f"no team {team_id}", field="team_id")
    if not DISPLAY_NAME_LENGTH[0] <= len(display_name) <= DISPLAY_NAME_LENGTH[1]:
        raise InvalidInput(
            "display_name: {} to {} characters".format(*DISPLAY_NAME_LENGTH),
            field="display_name",
        )
    if not PASSWORD_LENGTH[0] <= len(password) <= PASSWORD_LENGTH[1]:
        raise InvalidInput(
            "password: {} to {} characters".format(*PASSWORD_LENGTH), field="password"
        )
    return site.accounts.create(
        username, display_name, role, actor, team_id=team_id, password=password
    )


def change_account(
    site: Site,
    actor: str,
    worker_id: str,
    role: str | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> dict:
    """Change what is given (each ends the person's sessions); the account after."""
    if worker_id == actor and (role is not None or active is False):
        raise Forbidden("administrators cannot change their own role or deactivate themselves")
    if worker_id == actor and password is not None:  # whoever holds the session: no
        raise Forbidden(
            "change your own password with your current one (POST /api/me/password)",
            field="password",
        )
    accounts = site.accounts
    accounts.get(worker_id)
    if password is not None:
        accounts.set_password(worker_id, password, actor)
    if role is not None:
        accounts.set_role(worker_id, role, actor)
    if active is not None:
        accounts.set_active(worker_id, active, actor)
        if not active:
            revoke_devices_of(site, worker_id, actor, "account deactivated")
    return accounts.get(worker_id)
