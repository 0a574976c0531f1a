"""A small organisation for gateway tests: a team, workers, cases with documents."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from server.app import create_app
from server.config import Config
from server.site import Site
from server.tools.demo_data import case_doc, family_doc, note_doc

PASSWORD = "correct horse battery staple"


@dataclass
class Org:
    site: Site
    app: object
    team: str
    workers: dict[str, str] = field(default_factory=dict)  # username -> id
    cases: dict[str, str] = field(default_factory=dict)  # label -> case id
    docs: dict[str, list[str]] = field(default_factory=dict)  # case label -> doc ids

    def worker(self, name: str, role: str = "worker") -> str:
        self.workers[name] = self.site.accounts.create(
            name, name.title(), role, "admin", team_id=self.team, password=PASSWORD
        )
        return self.workers[name]

    def case(self, label: str, *workers: str, notes: int = 3, seed: int = 1) -> str:
        """A case with a family, a case document and `notes` notes, assigned to `workers`."""
        rng = random.Random(seed)
        author = self.workers[workers[0]] if workers else "0" * 32
        family = family_doc(rng, author)
        case_id = self.site.cases.create(family["_id"], "admin", team_id=self.team)
        docs = [family, case_doc(case_id, family["_id"], author)]
        docs += [note_doc(rng, case_id, author) for _ in range(notes)]
        results = self.site.records.write(case_id, docs)
        assert all(r.get("ok") for r in results), results
        for name in workers:
            self.site.cases.assign(case_id, self.workers[name], "own_worker", "admin")
        self.cases[label] = case_id
        self.docs[label] = [d["_id"] for d in docs]
        return case_id


def make_org(tmp: Path, site: Site) -> Org:
    config = Config(data_dir=tmp / "var")
    app = create_app(config, site=site)
    team = site.accounts.create_team("Perhetyö Keski", "admin")
    return Org(site=site, app=app, team=team)


@contextlib.contextmanager
def aino_with_a_case(tmp: Path) -> Iterator[Org]:
    """A site in `tmp` with one instructor, Aino, and her case "own" (the small world
    of the request-shape tests, shared by a whole module)."""
    from tests.support.site import open_test_site

    site = open_test_site(tmp)
    org = make_org(tmp, site)
    org.worker("aino")
    org.case("own", "aino")
    try:
        yield org
    finally:
        site.close()


def pair_and_own_case(org: Org) -> Org:
    """Aino and Bertil share the case "pair"; Kaisa has "own" (the live-feed tests:
    a write to one case must wake its workers' feeds and not the others')."""
    for name in ("aino", "bertil", "kaisa"):
        org.worker(name)
    org.case("pair", "aino", "bertil", notes=1)
    org.case("own", "kaisa", notes=1, seed=2)
    return org
