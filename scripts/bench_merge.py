"""Benchmark the merge: merges per second of typical notes on one core.

    .venv/bin/python scripts/bench_merge.py [--seconds 2] [--json]

A typical note here has a discussion of about 2 KB (six paragraphs of Finnish and
Swedish prose), a client's view and agreed actions. Two instructors edited it
concurrently, in one of four ways that pair work really produces: edits in different
paragraphs, edits of different sentences of the same paragraph, edits of the same
sentence (a collision: both kept, one reconciliation entry), and both appending to the
end; each side also adds an agreed action or sets the client review; and a stale leaf:
one instructor edits her old leaf again after the first merge, so the base is found
through what that merge took in. Each merge is what the gateway runs: the base lookup
in the document's history (`sync.merge.merge_leaves` walking a history of ten
revisions, the archive being an in-memory dict here, so the figure is the engine's
work and not the disk's) and the full merge of plaintext bodies, single threaded,
timed in this process's CPU time (one core's work, whatever else the machine is
running). The same merges with the base given (`sync.merge.merge`, no lookup) are
measured in the same run, as the baseline. Target: >= 2,000 merges per second per
core, base lookup included, in the slowest scenario.
"""

from __future__ import annotations

import argparse
import copy
import json
import time

from mobile_schema.examples import PAIR_WORKER, WORKER, example
from sync.merge import Graph, SideMeta, merge, merge_leaves
from sync.revisions import next_rev

TARGET = 2_000
PARAGRAPHS = [
    "Tapaaminen pidettiin perheen kotona. Paikalla olivat äiti, Eetu ja perheohjaaja. "
    "Isä osallistui puhelimitse työpäivän lomasta. Aluksi kuulumiset vaihdettiin rauhassa.",
    "Keskusteltiin aamujen sujumisesta päiväkotiin lähtiessä. Äiti kertoi, että aamut ovat "
    "olleet raskaita, koska Eetu ei halua pukea. Vaatteiden valitseminen illalla on "
    "auttanut jonkin verran. Eetu itse sanoi, että aamulla on kiire.",
    "Illat venyvät usein myöhään. Eetu nukahtaa vasta kymmenen jälkeen, ja äiti on väsynyt. "
    "Iltasatu on Eetun mielestä päivän paras hetki. Sovittiin, että iltarutiinia "
    "kokeillaan kuvakorteilla kahden viikon ajan.",
    "Vi pratade också om kvällarna på svenska, eftersom mamma vill det. Mamma berättade att "
    "hon känner sig ensam ibland. Hon är intresserad av en föräldragrupp i närheten.",
    "Päiväkodin kanssa on sovittu yhteistyöstä, ja suostumus tietojen vaihtoon on voimassa. "
    "Varhaiskasvatuksen opettaja on huomannut, että Eetu on aamuisin väsynyt. Yhteinen "
    "verkostotapaaminen pidetään toukokuun lopussa.",
    "Äiti kertoi myös taloudellisesta tilanteesta. Vuokra on noussut, ja toimeentulotuen "
    "hakeminen tuntuu vaikealta. Ohjaaja lupasi auttaa hakemuksen kanssa seuraavalla "
    "käynnillä. Äiti toivoi, että asiat hoidetaan rauhassa ilman kiirettä.",
    "Eetun kanssa leikittiin lopuksi legoilla. Eetu kertoi omin sanoin, että hän tykkää "
    "päiväkodista mutta ei aamuista. Hän piirsi kuvan, jossa äiti ja hän ovat puistossa. "
    "Kuva liitetään Eetun omaan kansioon.",
    "Lopuksi käytiin läpi, mitä kirjaukseen tulee. Äiti luki tekstin ja halusi lisätä "
    "oman näkemyksensä aamuista. Kirjaus tehtiin yhdessä avoimen dokumentoinnin tapaan.",
    "Isä kertoi puhelimessa, että hän voi jatkossa hoitaa osan aamuista. Hän toivoi, että "
    "hänet kutsutaan mukaan seuraavaan tapaamiseen. Asiasta sovitaan vielä äidin kanssa.",
    "Seuraava kotikäynti sovittiin kahden viikon päähän. Silloin arvioidaan yhdessä, miten "
    "kuvakortit ovat toimineet. Äiti sai mukaansa esitteen perhekerhosta.",
]
DISCUSSION = "\n\n".join(PARAGRAPHS)


def base_note() -> dict:
    doc = example("note")
    for key in ("finalised_by", "finalised_at"):
        doc.pop(key)
    doc.update(state="draft", discussion=DISCUSSION, client_review={"status": "not_reviewed"})
    return doc


def edited(base: dict, worker: str, at: str, discussion: str, **changes) -> dict:
    doc = copy.deepcopy(base)
    doc.update(updated_by=worker, updated_at=at, discussion=discussion, **changes)
    return doc


def action(ident: str, text: str) -> dict:
    return {"id": ident * 32, "text": text}


def scenarios() -> dict[str, tuple[dict, dict, dict]]:
    """name -> (base, ours, theirs), each a realistic concurrent edit of the same note."""
    base = base_note()
    actions = base["agreed_actions"]
    a_at, b_at = "2026-05-04T12:00:00+03:00", "2026-05-04T12:20:00+03:00"

    def pair(a_text: str, b_text: str) -> tuple[dict, dict, dict]:
        ours = edited(
            base,
            WORKER,
            a_at,
            a_text,
            agreed_actions=[*actions, action("a", "Äiti soittaa perhekerhoon.")],
        )
        theirs = edited(base, PAIR_WORKER, b_at, b_text, client_review={"status": "read"})
        return base, ours, theirs

    return {
        "different_paragraphs": pair(
            DISCUSSION.replace("vaihdettiin rauhassa", "vaihdettiin kahvin ääressä"),
            DISCUSSION.replace("kahden viikon päähän", "kolmen viikon päähän"),
        ),
        "same_paragraph": pair(
            DISCUSSION.replace("Illat venyvät usein myöhään", "Illat venyvät lähes aina"),
            DISCUSSION.replace("päivän paras hetki", "päivän mukavin hetki"),
        ),
        "same_sentence": pair(
            DISCUSSION.replace("äiti on väsynyt", "äiti on hyvin väsynyt"),
            DISCUSSION.replace("äiti on väsynyt", "koko perhe on väsynyt"),
        ),
        "both_append": pair(
            DISCUSSION + " Äiti kiitti käynnistä.",
            DISCUSSION + "\n\nLisäys: isä soitti illalla ja vahvisti seuraavan ajan.",
        ),
        "stale_leaf": pair(
            DISCUSSION.replace("Illat venyvät usein myöhään", "Illat venyvät lähes aina"),
            DISCUSSION.replace("kahden viikon päähän", "kolmen viikon päähän"),
        ),
    }


class History:
    """A note's history as the store holds it: eight edits, then the two sides (or,
    for a stale leaf, a merge and an edit of the losing leaf after it)."""

    def __init__(self, base: dict, ours: dict, theirs: dict, stale: bool = False):
        self.parents: dict[str, str | None] = {}
        self.records: dict[str, tuple[tuple[str, ...], dict | None]] = {}
        rev = None
        for n in range(8):
            rev = self.add(rev, base if n == 7 else {"n": n})
        self.base = rev
        if not stale:
            self.leaves = [(self.add(rev, ours), ours), (self.add(rev, theirs), theirs)]
            return
        first = edited(base, WORKER, "2026-05-04T11:30:00+03:00", base["discussion"])
        a1, b1 = self.add(rev, first), self.add(rev, theirs)
        merged = merge(base, first, theirs).doc
        m = self.add(b1, merged, (a1, b1))
        self.leaves = [(m, merged), (self.add(a1, ours), ours)]

    def add(self, parent: str | None, body: dict, merged_from=()) -> str:
        rev = next_rev(parent, False, {"body": body, "merged_from": list(merged_from)})
        self.parents[rev] = parent
        self.records[rev] = (tuple(merged_from), body)
        return rev

    def merge(self):
        """What the gateway does: learn the leaves, walk to the base, merge."""
        graph = Graph(dict(self.parents))
        for rev, body in self.leaves:
            graph.learn(rev, self.records[rev][0], body)
        plan = merge_leaves(
            graph, [body for _, body in self.leaves], [SideMeta(rev=r) for r, _ in self.leaves]
        )
        try:
            need = next(plan)
            while True:
                for rev in need.revs:
                    graph.learn(rev, *self.records[rev])
                need = plan.send(None)
        except StopIteration as done:
            return done.value


def timed(run, seconds: float) -> tuple[float, float]:
    """(merges per CPU second, merges per wall-clock second) of `run` for `seconds`."""
    count, start, wall = 0, time.process_time(), time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(50):
            run()
        count += 50
        now = time.process_time()
        if now >= deadline:
            break
    return count / (now - start), count / (time.perf_counter() - wall)


def bench(name: str, trio: tuple[dict, dict, dict], seconds: float) -> dict:
    """Merge one scenario repeatedly, with and without the base lookup."""
    base, ours, theirs = trio
    history = History(base, ours, theirs, stale=name == "stale_leaf")
    result = history.merge()
    plain_base = _base_of(history) if name == "stale_leaf" else base
    (rev_a, ours_now), (rev_b, theirs_now) = history.leaves
    metas = SideMeta(rev=rev_a), SideMeta(rev=rev_b)

    def plain():  # the same merge and revision ids, with the base handed over
        return merge(plain_base, ours_now, theirs_now, *metas)

    per_s, wall_per_s = timed(history.merge, seconds)
    plain_per_s, _ = timed(plain, seconds)
    return {
        "scenario": name,
        "merges_per_s": per_s,
        "wall_merges_per_s": wall_per_s,
        "plain_merges_per_s": plain_per_s,
        "collisions": len(result.collisions),
    }


def _base_of(history: History) -> dict:
    """The base the lookup finds for a stale leaf (the losing leaf's first edit)."""
    stale_parent = history.parents[history.leaves[1][0]]
    return history.records[stale_parent][1]


def _mean_time(rows: list[dict], key: str) -> float:
    return sum(1 / r[key] for r in rows) / len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="CPU seconds per scenario")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args()
    cases = scenarios()
    rows = [bench(name, trio, args.seconds) for name, trio in cases.items()]
    mean_time = _mean_time(rows, "merges_per_s")
    overall = 1 / mean_time  # the mix of all four, one after another
    figures = {
        "discussion_bytes": len(DISCUSSION.encode("utf-8")),
        "doc_bytes": len(json.dumps(cases["same_paragraph"][1], ensure_ascii=False).encode()),
        **{f"{r['scenario']}_merges_per_s": round(r["merges_per_s"]) for r in rows},
        "merges_per_s": round(overall),
        "slowest_merges_per_s": round(min(r["merges_per_s"] for r in rows)),
        "plain_merges_per_s": round(1 / _mean_time(rows, "plain_merges_per_s")),
        "lookup_share": round(1 - _mean_time(rows, "plain_merges_per_s") / mean_time, 3),
        "wall_clock_merges_per_s": round(len(rows) / sum(1 / r["wall_merges_per_s"] for r in rows)),
        "target_merges_per_s": TARGET,
    }
    figures["meets_target"] = figures["slowest_merges_per_s"] >= TARGET
    for key, value in figures.items():
        shown = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value
        print(f"{key:>36}: {shown}")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
