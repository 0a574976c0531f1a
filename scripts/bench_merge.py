"""Benchmark the merge: merges per second of typical notes on one core.

    .venv/bin/python scripts/bench_merge.py [--seconds 2] [--json]

A typical note here has a discussion of about 2 KB (six paragraphs of Finnish and
Swedish prose), a client's view and agreed actions. Two instructors edited it
concurrently, in one of four ways that pair work really produces: edits in different
paragraphs, edits of different sentences of the same paragraph, edits of the same
sentence (a collision: both kept, one reconciliation entry), and both appending to the
end; each side also adds an agreed action or sets the client review. Each merge is the
full `sync.merge.merge` of plaintext bodies (what the gateway will call), single
threaded, timed in this process's CPU time (one core's work, whatever else the machine
is running). Target: >= 2,000 merges per second per core, in the slowest scenario.
"""

from __future__ import annotations

import argparse
import copy
import json
import time

from mobile_schema.examples import PAIR_WORKER, WORKER, example
from sync.merge import merge

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
    }


def bench(name: str, trio: tuple[dict, dict, dict], seconds: float) -> dict:
    """Merge one scenario repeatedly for about `seconds`; merges per second."""
    base, ours, theirs = trio
    result = merge(base, ours, theirs)
    count, start, wall = 0, time.process_time(), time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(50):
            merge(base, ours, theirs)
        count += 50
        now = time.process_time()
        if now >= deadline:
            break
    return {
        "scenario": name,
        "merges_per_s": count / (now - start),
        "wall_merges_per_s": count / (time.perf_counter() - wall),
        "collisions": len(result.collisions),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="CPU seconds per scenario")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args()
    cases = scenarios()
    rows = [bench(name, trio, args.seconds) for name, trio in cases.items()]
    mean_time = sum(1 / r["merges_per_s"] for r in rows) / len(rows)
    overall = 1 / mean_time  # the mix of all four, one after another
    figures = {
        "discussion_bytes": len(DISCUSSION.encode("utf-8")),
        "doc_bytes": len(json.dumps(cases["same_paragraph"][1], ensure_ascii=False).encode()),
        **{f"{r['scenario']}_merges_per_s": round(r["merges_per_s"]) for r in rows},
        "merges_per_s": round(overall),
        "slowest_merges_per_s": round(min(r["merges_per_s"] for r in rows)),
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
