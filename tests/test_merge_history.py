"""The base of a merge after earlier merges: the newest state both sides contain."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.merge import Graph, SideMeta, merge_leaves
from sync.merge.history import bases, contains
from sync.revisions import next_rev, parse_rev
from tests.test_merge_scenarios import A, B, by_a, by_b, draft_note


def run(walk, graph: Graph, bodies: dict | None = None):
    """Drive a walk or a merge, answering its needs from `graph`'s own records."""
    asked = []
    try:
        need = next(walk)
        while True:
            asked.append(need.revs)
            for rev in need.revs:
                graph.learn(rev, RECORDS.get(rev, ()), (bodies or {}).get(rev))
            need = walk.send(None)
    except StopIteration as done:
        return done.value, asked


RECORDS: dict[str, tuple[str, ...]] = {}


class History:
    """A document's history built the way the server builds it: edits extend a leaf,
    a merge is the child of the longest leaf it merges and records what it merged."""

    def __init__(self):
        self.parents: dict[str, str | None] = {}
        self.merged: dict[str, tuple[str, ...]] = {}
        self.live: set[str] = set()

    def edit(self, parent: str | None, tag: str) -> str:
        rev = next_rev(parent, False, {"tag": tag})
        self.parents[rev] = parent
        self.live.discard(parent)
        self.live.add(rev)
        return rev

    def merge(self, leaves: list[str], tag: str) -> str:
        parent = max(leaves, key=parse_rev)
        rev = next_rev(parent, False, {"merge": tag})
        self.parents[rev] = parent
        self.merged[rev] = tuple(sorted(leaves))
        self.live -= set(leaves)
        self.live.add(rev)
        return rev

    def graph(self) -> Graph:
        RECORDS.clear()
        RECORDS.update(self.merged)
        return Graph(dict(self.parents))

    def contained(self, rev: str) -> set[str]:
        out, todo = set(), [rev]
        while todo:
            r = todo.pop()
            if r is None or r in out:
                continue
            out.add(r)
            todo.append(self.parents[r])
            todo.extend(self.merged.get(r, ()))
        return out

    def expected_bases(self, ours: set[str], theirs: set[str]) -> set[str]:
        common = set.union(*(self.contained(r) for r in ours)) & set.union(
            *(self.contained(r) for r in theirs)
        )
        dominated = {d for c in common for d in self.contained(c) if d != c}
        return common - dominated


def test_without_merges_the_base_is_the_common_ancestor():
    h = History()
    root = h.edit(None, "root")
    x = h.edit(root, "x")
    a, b = h.edit(x, "a"), h.edit(x, "b")
    graph = h.graph()
    found, asked = run(bases(graph, [a], [b]), graph)
    assert found == [x]
    assert root not in {r for level in asked for r in level}  # the walk stops at x


def test_a_leaf_that_lost_a_merge_is_merged_against_what_the_merge_took_from_it():
    h = History()
    root = h.edit(None, "root")
    a1, b1 = h.edit(root, "a1"), h.edit(root, "b1")
    merged = h.merge([a1, b1], "m")
    a2 = h.edit(a1, "a2")  # Aino kept editing her old leaf offline
    graph = h.graph()
    found, _ = run(bases(graph, [merged], [a2]), graph)
    assert found == [a1]
    assert contains(graph, merged, a1) and contains(graph, merged, b1)


def test_a_criss_cross_has_two_bases():
    h = History()
    root = h.edit(None, "root")
    a, b = h.edit(root, "a"), h.edit(root, "b")
    m1 = h.merge([a, b], "one")
    h.live |= {a, b}
    c = h.edit(b, "c")
    m2 = h.merge([a, c], "two")
    graph = h.graph()
    found, _ = run(bases(graph, [m1], [m2]), graph)
    assert set(found) == {a, b}


def test_histories_that_never_meet_have_no_base():
    h = History()
    a, b = h.edit(None, "a"), h.edit(None, "b")
    graph = h.graph()
    assert run(bases(graph, [a], [b]), graph)[0] == []


@st.composite
def histories(draw):
    """Random histories: edits of leaves (stale ones too) and merges of leaves."""
    h = History()
    h.edit(None, "root")
    for step in range(draw(st.integers(2, 14))):
        leaves = sorted(h.live)
        if len(leaves) > 1 and draw(st.booleans()):
            chosen = draw(st.lists(st.sampled_from(leaves), min_size=2, unique=True))
            h.merge(chosen, f"m{step}")
        else:
            revs = sorted(h.parents)
            parent = draw(st.sampled_from(leaves if draw(st.booleans()) else revs))
            h.edit(parent, f"e{step}")
    revs = sorted(h.parents)
    ours = draw(st.lists(st.sampled_from(revs), min_size=1, max_size=3, unique=True))
    theirs = draw(st.lists(st.sampled_from(revs), min_size=1, max_size=3, unique=True))
    return h, set(ours), set(theirs)


@settings(max_examples=300, deadline=None)
@given(histories())
def test_the_walk_finds_exactly_the_newest_common_states(case):
    h, ours, theirs = case
    graph = h.graph()
    found, asked = run(bases(graph, ours, theirs), graph)
    assert set(found) == h.expected_bases(ours, theirs)
    assert len(found) == len(set(found))
    flat = [r for level in asked for r in level]
    assert len(flat) == len(set(flat))  # each revision is read once


def test_merge_leaves_keeps_an_edit_made_on_the_losing_side_of_an_earlier_merge():
    """The issue's story: Aino reverts her change and drops a sentence on her old leaf
    after Bertil's addition was merged with her first edit."""
    base = draft_note()
    base["discussion"] = "X alkuperäinen. Toinen lause. Kolmas lause."
    h = History()
    r0 = h.edit(None, "0")
    a1 = h.edit(r0, "a1")
    b1 = h.edit(r0, "b1")
    aino1 = by_a(base, discussion="X muutettu. Toinen lause. Kolmas lause.")
    bertil = by_b(base, discussion="X alkuperäinen. Toinen lause. Kolmas lause. Y lisäsi.")
    graph = h.graph()
    first, _ = run(
        merge_leaves(graph, [aino1, bertil], [SideMeta(rev=a1), SideMeta(rev=b1)]),
        graph,
        {r0: base},
    )
    assert first.doc["discussion"] == "X muutettu. Toinen lause. Kolmas lause. Y lisäsi."
    merged = h.merge([a1, b1], "m")
    assert first.revisions.merged_from == tuple(sorted([a1, b1], key=parse_rev))
    a2 = h.edit(a1, "a2")
    aino2 = copy.deepcopy(aino1)
    aino2.update(discussion="X alkuperäinen. Toinen lause.", updated_at="2026-05-04T13:00:00+03:00")
    graph = h.graph()
    graph.learn(merged, h.merged[merged], first.doc)
    graph.learn(a2, (), aino2)
    second, _ = run(
        merge_leaves(graph, [first.doc, aino2], [SideMeta(rev=merged), SideMeta(rev=a2)]),
        graph,
        {r0: base, a1: aino1, b1: bertil},
    )
    assert second.doc["discussion"] == "X alkuperäinen. Toinen lause. Y lisäsi."
    assert not second.collisions
    assert {second.doc["updated_by"]} <= {A, B}
