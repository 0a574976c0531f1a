"""The demo organisation's two full case files (`server/tools/demo_casework.py`), and a
phone enrolled against the served site, for the case page and documents API tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from server.casework.case_file import CaseFiles
from server.tools.demo import DEMO_PASSWORD
from sync.device import Device
from tests.support.web import Web


@dataclass
class CaseFilesOfDemo:
    paired: str  # Kaisa's case with Aino as pair worker (the Finnish story)
    single: str  # Aino's own case (the Swedish story), a child who may need special support


def demo_case_files(web: Web) -> CaseFilesOfDemo:
    """The two active cases with a client plan, told apart by their pair worker."""
    files = CaseFiles.of(web.site)
    with_plan = [
        case["id"]
        for case in web.site.cases.find(status="active")
        if files.open(case["id"], "plan").documents
    ]
    assert len(with_plan) == 2, with_plan
    by_workers = {len(web.site.cases.current_assignments(c)): c for c in with_plan}
    return CaseFilesOfDemo(paired=by_workers[2], single=by_workers[1])


def phone(web: Web, home: Path, username: str) -> Device:
    """A reference device of `username`, enrolled and holding its cases' keys."""
    device = Device(home / f"phone-{username}", passphrase="2468", scrypt_n=2**10)
    device.enrol(web.url, username, DEMO_PASSWORD, label=f"{username}'s phone")
    device.pull()
    return device


def other_team_worker(web: Web, username: str = "olli") -> str:
    """An instructor of another team (with the demo password), for the 404 tests."""
    team = web.site.accounts.create_team("Perhetyö Itä", "test")
    return web.site.accounts.create(
        username, "Olli Muualla", "worker", "test", team_id=team, password=DEMO_PASSWORD
    )
