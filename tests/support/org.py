"""A small organisation for gateway tests: a team, workers, cases with documents."""

from __future__ import annotations

import random
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
