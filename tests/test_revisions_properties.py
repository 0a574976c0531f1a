"""Property tests for sync.revisions: replicas that receive the same revision paths in
any order, with duplicates, converge to the same tree and pick the same winner.

The edit history is modelled independently of RevTree (a dict rev -> (parent,
deleted)), so the tests compare RevTree against a brute-force reading of the model.
"""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.revisions import RevTree, next_rev, parse_rev, rev_hash

Model = dict[str, tuple[str | None, bool]]
Path = tuple[dict, bool]

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def model_leaves(model: Model) -> list[str]:
    """Revs of the model that no other rev names as parent."""
    parents = {parent for parent, _ in model.values()}
    return sorted(rev for rev in model if rev not in parents)


def model_lineage(model: Model, rev: str) -> list[str]:
    """``rev`` and its ancestors, newest first."""
    lineage = [rev]
    while (parent := model[lineage[-1]][0]) is not None:
        lineage.append(parent)
    return lineage


def brute_winner(leaves: list[tuple[str, bool]]) -> str:
    """CouchDB's rule spelled out step by step, independently of RevTree._rank."""
    live = [rev for rev, dead in leaves if not dead]
    pool = live or [rev for rev, _ in leaves]
    top = max(parse_rev(rev)[0] for rev in pool)
    return max((rev for rev in pool if parse_rev(rev)[0] == top), key=lambda r: r.split("-")[1])


def brute_order(leaves: list[tuple[str, bool]]) -> list[str]:
    """All leaves best first, by repeatedly taking the brute-force winner."""
    rest, order = list(leaves), []
    while rest:
        best = brute_winner(rest)
        order.append(best)
        rest = [leaf for leaf in rest if leaf[0] != best]
    return order


def leaves_from_json(tree: RevTree) -> list[tuple[str, bool]]:
    """Leaves read from the stored rows, not from RevTree.leaves()."""
    rows = tree.to_json()["revs"]
    parents = {row[1] for row in rows}
    return [(row[0], bool(row[2])) for i, row in enumerate(rows) if i not in parents]


@st.composite
def histories(draw) -> Model:
    """A random edit history: extend or delete a leaf, branch anywhere, or a 2nd root."""
    root = next_rev(None, False, {"n": 0})
    model: Model = {root: (None, False)}
    for n in range(1, draw(st.integers(0, 18)) + 1):
        kind = draw(st.sampled_from(("extend", "extend", "branch", "delete", "root")))
        if kind == "root":
            parent = None
        elif kind == "branch":
            parent = draw(st.sampled_from(sorted(model)))
        else:
            parent = draw(st.sampled_from(model_leaves(model)))
        deleted = kind == "delete"
        model[next_rev(parent, deleted, {"n": n})] = (parent, deleted)
    return model


@st.composite
def deliveries(draw, truncate: bool) -> tuple[Model, list[Path]]:
    """The model and ``_revisions`` paths for every leaf and some interior revs.

    With ``truncate`` each path may be cut short, as a stemmed source would send it.
    """
    model = draw(histories())
    interior = draw(st.lists(st.sampled_from(sorted(model)), max_size=len(model)))
    targets = model_leaves(model) + interior
    paths = []
    for rev in targets:
        lineage = model_lineage(model, rev)
        keep = draw(st.integers(1, len(lineage))) if truncate else len(lineage)
        ids = [parse_rev(r)[1] for r in lineage[:keep]]
        paths.append(({"start": parse_rev(rev)[0], "ids": ids}, model[rev][1]))
    return model, paths


@st.composite
def replay_orders(draw, paths: list[Path]) -> list[list[Path]]:
    """Several delivery sequences: shuffled, each with some paths sent twice."""
    orders = []
    for _ in range(draw(st.integers(2, 4))):
        extra = draw(st.lists(st.sampled_from(paths), max_size=4))
        orders.append(draw(st.permutations(paths + extra)))
    return orders


def replay(paths: list[Path]) -> RevTree:
    tree = RevTree()
    for revisions, deleted in paths:
        tree.add(revisions, deleted)
    return tree


@FAST
@given(st.data())
def test_replicas_converge_whatever_the_order(data):
    _, paths = data.draw(deliveries(truncate=True))
    replicas = [replay(order) for order in data.draw(replay_orders(paths))]
    first = replicas[0]
    for other in replicas[1:]:
        assert other.to_json() == first.to_json()
        assert other.winner() == first.winner()
        assert other.conflicts() == first.conflicts()
        assert other.deleted_conflicts() == first.deleted_conflicts()
        assert other.leaves() == first.leaves()
    assert json.dumps(first.to_json()) == json.dumps(replicas[-1].to_json())


@FAST
@given(deliveries(truncate=True))
def test_winner_is_a_leaf_and_matches_brute_force(delivery):
    _, paths = delivery
    tree = replay(paths)
    leaves = leaves_from_json(tree)
    assert tree.winner() == brute_winner(leaves)
    assert tree.is_leaf(tree.winner())
    assert [rev for rev, _ in tree.leaves()] == brute_order(leaves)
    dead = {rev for rev, gone in leaves if gone}
    assert tree.is_deleted() == (tree.winner() in dead)
    assert not set(tree.conflicts()) & dead
    assert set(tree.deleted_conflicts()) <= dead
    listed = {tree.winner(), *tree.conflicts(), *tree.deleted_conflicts()}
    assert listed == {rev for rev, _ in leaves}


@FAST
@given(deliveries(truncate=False))
def test_full_replay_reproduces_the_history(delivery):
    model, paths = delivery
    tree = replay(paths)
    assert sorted(tree.revs()) == sorted(model)
    expected_leaves = [(rev, model[rev][1]) for rev in model_leaves(model)]
    assert sorted(tree.leaves()) == sorted(expected_leaves)
    assert tree.winner() == brute_winner(expected_leaves)
    for rev in model:
        assert tree.ancestors(rev) == model_lineage(model, rev)[1:]
    assert RevTree.from_json(tree.to_json()) == tree


@FAST
@given(deliveries(truncate=False), st.integers(1, 4))
def test_stem_keeps_leaves_and_each_leafs_last_revs(delivery, limit):
    _, paths = delivery
    tree = replay(paths)
    lineages = {leaf: [leaf, *tree.ancestors(leaf)] for leaf, _ in tree.leaves()}
    leaves = tree.leaves()
    dropped = tree.stem(limit)
    assert tree.leaves() == leaves
    wanted = {rev for lineage in lineages.values() for rev in lineage[:limit]}
    assert set(tree.revs()) == wanted
    assert not wanted & set(dropped)
    for leaf, lineage in lineages.items():
        kept = [leaf, *tree.ancestors(leaf)]
        assert kept == lineage[: len(kept)]
        assert len(kept) >= min(limit, len(lineage))


@FAST
@given(deliveries(truncate=True), st.integers(1, 4))
def test_stem_then_readd_then_stem_is_stable(delivery, limit):
    _, paths = delivery
    tree = replay(paths)
    tree.stem(limit)
    stemmed = tree.to_json()
    for revisions, deleted in paths:
        tree.add(revisions, deleted)
    tree.stem(limit)
    assert tree.to_json() == stemmed
    assert RevTree.from_json(stemmed).to_json() == stemmed


@FAST
@given(deliveries(truncate=False))
def test_common_ancestor_is_newest_shared_lineage_rev(delivery):
    model, paths = delivery
    tree = replay(paths)
    revs = sorted(model)
    for a in revs[:6]:
        for b in revs[-6:]:
            shared = set(model_lineage(model, a)) & set(model_lineage(model, b))
            expected = max(shared, key=lambda r: parse_rev(r)[0]) if shared else None
            assert tree.common_ancestor(a, b) == expected


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
content_keys = st.text(max_size=6).filter(lambda k: not k.startswith("_"))


@FAST
@given(
    st.dictionaries(content_keys, json_values, max_size=5),
    st.dictionaries(st.text(max_size=5).map(lambda k: "_" + k), json_values, max_size=3),
    st.booleans(),
)
def test_rev_hash_ignores_key_order_and_underscore_keys(body, meta, deleted):
    reordered = dict(reversed(list({**meta, **body}.items())))
    assert rev_hash("3-ab", deleted, reordered) == rev_hash("3-ab", deleted, body)
    assert rev_hash("3-ab", not deleted, body) != rev_hash("3-ab", deleted, body)
