"""Three-way merge of free text, sentence by sentence. Pure.

Notes are prose written by two instructors on two devices. Merging by sentence (a
line without end punctuation counts as one) lets two people who edited different
sentences of the same paragraph both keep their edit, while two edits of the same
sentence are never spliced into a sentence neither of them wrote.

The algorithm is diff3 on top of the standard library's `difflib` (docs/adr/010): each
side is diffed against the base into hunks (a base range replaced by new sentences),
and hunks of the two sides collide only when their base ranges overlap. Unlike
sync-region diff3 (GNU diff3, merge3), edits of *adjacent* sentences do not collide.
Insertions at the same point (both appended to the end) are both kept, the earlier
side's first. A real collision keeps both versions in the text, ours first, so no
word is ever hidden; the caller records it for reconciliation.

Sentences are compared without the white space after them, which is merged on its
own: appending to a text changes nothing but the space after its last sentence, and a
re-spaced paragraph must not collide with a real edit of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

# A sentence ends at end punctuation (with any closing quotes or brackets) followed by
# white space, or at a line break. The pattern starts with one character class, which
# Python's `re` scans for quickly; a candidate without white space ("3.5") is skipped.
_BREAK = re.compile(r"[.!?…\n][\"'”’»)\].!?…]*\s*")
_SPACE = re.compile(r"\s+")

Hunk = tuple[int, int, int, int]  # base[i1:i2] became side[j1:j2]
Token = tuple[str, str]  # (sentence, the white space after it)


@dataclass(frozen=True)
class TextMerge:
    """The merged text and, for each real collision, ours' and theirs' passages."""

    text: str
    collisions: tuple[tuple[str, str], ...] = ()


def sentences(text: str) -> list[str]:
    """Split `text` into sentence tokens; `"".join(sentences(t)) == t` always."""
    return [key + space for key, space in _tokens(text)]


def merge_text(base: str, ours: str, theirs: str) -> TextMerge:
    """Merge two concurrent edits of `base`; `ours` is the earlier side, `theirs` the later."""
    if ours == theirs or theirs == base:
        return TextMerge(ours)
    if ours == base:
        return TextMerge(theirs)
    lines = _lines(base), _lines(ours), _lines(theirs)
    out: list[str] = []
    collisions: list[tuple[str, str]] = []
    (bl, ol, tl), (i0, j0, k0) = lines, (0, 0, 0)
    for i, j, k in [*_stable_lines(*lines), (len(bl), len(ol), len(tl))]:
        if i > i0 or j > j0 or k > k0:  # something between two stable lines
            b, o, t = "".join(bl[i0:i]), "".join(ol[j0:j]), "".join(tl[k0:k])
            chunk = _merge_chunk(b, o, t, at_end=i == len(bl))
            out.append(chunk.text)
            collisions.extend(chunk.collisions)
        if i < len(bl):
            out.append(bl[i])
        i0, j0, k0 = i + 1, j + 1, k + 1
    return TextMerge("".join(out), tuple(collisions))


def _lines(text: str) -> list[str]:
    """The lines of `text`, each with its line break."""
    parts = text.split("\n")
    return [line + "\n" for line in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _stable_lines(base: list[str], ours: list[str], theirs: list[str]) -> list[tuple]:
    """(i, j, k) of every base line that both sides kept as it was, in order.

    Sentences never span a line break, so the merge can be split at these lines: only
    the paragraphs between them are split into sentences and diffed, and an edit of one
    paragraph costs one paragraph, not the whole note.
    """
    _, in_ours = _diff(base, ours)
    _, in_theirs = _diff(base, theirs)
    return [(i, in_ours[i], in_theirs[i]) for i in sorted(in_ours) if i in in_theirs]


def _merge_chunk(base: str, ours: str, theirs: str, at_end: bool) -> TextMerge:
    """Merge the text between two stable lines (or the text's ends), sentence by sentence."""
    if ours == theirs or theirs == base:
        return TextMerge(ours)
    if ours == base:
        return TextMerge(theirs)
    return _Merge3(_tokens(base), _tokens(ours), _tokens(theirs)).run(at_end)


def _tokens(text: str) -> list[Token]:
    """(sentence, white space after it) pairs; joined, they give the text back."""
    out: list[Token] = []
    start = 0
    for match in _BREAK.finditer(text):
        end = _break_end(match.group())
        if end:
            token = text[start : match.start() + end]
            key = token.rstrip()
            out.append((key, token[len(key) :]))
            start = match.start() + end
    if start < len(text):
        token = text[start:]
        key = token.rstrip()
        out.append((key, token[len(key) :]))
    return out


def _break_end(candidate: str) -> int:
    """Where a sentence ends within a candidate: after its first run of white space
    (0: no white space, so no sentence end, as in "3.5")."""
    i, size = 0, len(candidate)
    while i < size and not candidate[i].isspace():
        i += 1
    if i == size:
        return 0
    while i < size and candidate[i].isspace():
        i += 1
    return i


def _join(tokens: list[Token]) -> str:
    """The text of a token run; a sentence that is not last is never glued to the next."""
    last = len(tokens) - 1
    return "".join(
        key + (space or (" " if i < last and key else "")) for i, (key, space) in enumerate(tokens)
    )


class _Merge3:
    """One three-way merge of token lists (base, ours, theirs)."""

    def __init__(self, base: list[Token], ours: list[Token], theirs: list[Token]) -> None:
        self.b, self.o, self.t = base, ours, theirs
        keys = [k for k, _ in base]
        self.ours_hunks, self.ours_at = _diff(keys, [k for k, _ in ours])
        self.theirs_hunks, self.theirs_at = _diff(keys, [k for k, _ in theirs])
        self.collisions: list[tuple[str, str]] = []

    def run(self, at_end: bool = True) -> TextMerge:
        """Merge; `at_end` says the tokens run to the end of the text."""
        out: list[Token] = []
        cursor = 0
        for lo, hi, mine, other in _groups(self.ours_hunks, self.theirs_hunks):
            out.extend(self._unchanged(cursor, lo))
            if lo == hi and mine and other:
                out.extend(self._both_inserted(lo, mine, other, out if cursor < lo else []))
            else:
                out.extend(self._region(lo, hi, mine, other))
            cursor = hi
        out.extend(self._unchanged(cursor, len(self.b)))
        text = _join(out)
        if at_end and not any(side and side[-1][1] for side in (self.o, self.t)):
            text = text.rstrip()  # a removed last sentence leaves no dangling space
        return TextMerge(text, tuple(self.collisions))

    def _unchanged(self, lo: int, hi: int) -> list[Token]:
        """Base sentences neither side changed, with the white space merged three-way."""
        out = []
        for i in range(lo, hi):
            key, base_space = self.b[i]
            mine, other = self.o[self.ours_at[i]][1], self.t[self.theirs_at[i]][1]
            out.append((key, mine if other == base_space else other))
        return out

    def _region(self, lo: int, hi: int, mine: list[Hunk], other: list[Hunk]) -> list[Token]:
        """The merged tokens of one region, recording a collision if the sides differ."""
        ours = _apply(self.b, self.o, mine, lo, hi)
        theirs = _apply(self.b, self.t, other, lo, hi)
        if not other:
            return ours
        if not mine:
            return theirs
        mine_deletes, other_deletes = _deletes_only(mine), _deletes_only(other)
        if mine_deletes and other_deletes:  # both removed sentences: all of them go
            return []
        ours_text, theirs_text = _join(ours), _join(theirs)
        winner = _cosmetic(_join(self.b[lo:hi]), ours_text, theirs_text)
        if winner is not None:
            return theirs if winner == theirs_text else ours
        self.collisions.append((ours_text, theirs_text))
        if mine_deletes or other_deletes:
            return self._removed_edited(lo, hi, mine, other, mine_deletes)
        if ours and "\n" in ours_text + theirs_text and not ours[-1][1]:
            ours = [*ours[:-1], (ours[-1][0], "\n")]
        return ours + theirs

    def _both_inserted(self, lo: int, mine: list[Hunk], other: list[Hunk], out: list[Token]):
        """Both sides inserted at one point: both kept, shared sentences once, ours first.

        When the two insertions are wholly different, each keeps the break its author
        put before it (one continued the paragraph, the other started a new one).
        """
        ours = _apply(self.b, self.o, mine, lo, lo)
        theirs = _apply(self.b, self.t, other, lo, lo)
        union = _union(ours, theirs)
        if not out or union != ours + theirs or lo - 1 not in self.ours_at:
            return union  # `out` ends with base[lo - 1] whenever it is given
        if lo - 1 not in self.theirs_at:
            return union
        ours_before = self.o[self.ours_at[lo - 1]][1]
        theirs_before = self.t[self.theirs_at[lo - 1]][1]
        out[-1] = (out[-1][0], ours_before)
        if theirs_before:
            union[len(ours) - 1] = (ours[-1][0], theirs_before)
        return union

    def _removed_edited(self, lo, hi, mine, other, mine_deletes) -> list[Token]:
        """One side only removed sentences that the other edited around: the editor's
        version stays, without the sentences the remover removed and the editor kept as
        they were (removed and unchanged → removed; removed and edited → kept)."""
        removed = {i for i1, i2, _, _ in (mine if mine_deletes else other) for i in range(i1, i2)}
        editor_hunks, editor = (other, self.t) if mine_deletes else (mine, self.o)
        kept: list[Token] = []
        pos = lo
        for i1, i2, j1, j2 in editor_hunks:
            kept.extend(self.b[i] for i in range(pos, i1) if i not in removed)
            kept.extend(editor[j1:j2])
            pos = i2
        kept.extend(self.b[i] for i in range(pos, hi) if i not in removed)
        return kept


def _deletes_only(hunks: list[Hunk]) -> bool:
    return all(j1 == j2 for _, _, j1, j2 in hunks)


def _diff(base: list, side: list) -> tuple[list[Hunk], dict[int, int]]:
    """One side's hunks against the base, and where each unchanged base element is in it.

    The common head and tail are matched directly (an edit usually touches a sentence or
    two), the middle with difflib; autojunk is off so a long note's common sentences are
    not taken as noise.
    """
    head = 0
    limit = min(len(base), len(side))
    while head < limit and base[head] == side[head]:
        head += 1
    tail = 0
    while tail < limit - head and base[-1 - tail] == side[-1 - tail]:
        tail += 1
    at = {i: i for i in range(head)}
    at.update((len(base) - 1 - k, len(side) - 1 - k) for k in range(tail))
    hunks: list[Hunk] = []
    inner_base, inner_side = base[head : len(base) - tail], side[head : len(side) - tail]
    middle = SequenceMatcher(None, inner_base, inner_side, autojunk=False)
    for tag, i1, i2, j1, j2 in middle.get_opcodes():
        i1, i2, j1, j2 = i1 + head, i2 + head, j1 + head, j2 + head
        if tag == "equal":
            at.update(zip(range(i1, i2), range(j1, j2), strict=True))
        else:
            hunks.append((i1, i2, j1, j2))
    return hunks, at


def _clash(a: Hunk, b: Hunk) -> bool:
    """Do two hunks of different sides touch the same base sentences?

    Adjacent ranges do not clash, nor does an insertion at the edge of the other's range;
    two insertions at the same point do not clash either (both are kept).
    """
    (a1, a2, _, _), (b1, b2, _, _) = a, b
    if a1 == a2 and b1 == b2:
        return False
    if a1 == a2:
        return b1 < a1 < b2
    if b1 == b2:
        return a1 < b1 < a2
    return a1 < b2 and b1 < a2


def _groups(ours: list[Hunk], theirs: list[Hunk]):
    """Yield (lo, hi, ours' hunks, theirs' hunks) for each independent base region,
    joining hunks of the two sides that clash (transitively) or insert at one point."""
    tagged = sorted([(h, 0) for h in ours] + [(h, 1) for h in theirs])
    group: tuple[list[Hunk], list[Hunk]] = ([], [])
    lo = hi = 0
    for hunk, side in tagged:
        others = group[1 - side]
        if others and any(_clash(hunk, o) or _same_point(hunk, o) for o in others):
            group[side].append(hunk)
            hi = max(hi, hunk[1])
            continue
        if group[0] or group[1]:
            yield lo, hi, group[0], group[1]
        group = ([], [])
        group[side].append(hunk)
        lo, hi = hunk[0], hunk[1]
    if group[0] or group[1]:
        yield lo, hi, group[0], group[1]


def _same_point(a: Hunk, b: Hunk) -> bool:
    return a[0] == a[1] == b[0] == b[1]


def _apply(base: list[Token], side: list[Token], hunks: list[Hunk], lo: int, hi: int):
    """One side's version of base[lo:hi]."""
    out: list[Token] = []
    pos = lo
    for i1, i2, j1, j2 in hunks:
        out.extend(base[pos:i1])
        out.extend(side[j1:j2])
        pos = i2
    out.extend(base[pos:hi])
    return out


def _cosmetic(base: str, ours: str, theirs: str) -> str | None:
    """The winning side's text if the sides differ only in white space, else None.

    A side that only re-spaced the region yields to the other side's real edit; if both
    wrote the same words, the later side's spacing is kept.
    """
    o, t = _squash(ours), _squash(theirs)
    if o == t:
        return theirs
    b = _squash(base)
    if o == b:
        return theirs
    if t == b:
        return ours
    return None


def _squash(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _union(ours: list[Token], theirs: list[Token]) -> list[Token]:
    """Two insertions at one point: sentences both wrote once, the rest ours first."""
    keys_o, keys_t = [k for k, _ in ours], [k for k, _ in theirs]
    if keys_o == keys_t:
        return theirs
    out: list[Token] = []
    i = j = 0
    for a, b, size in SequenceMatcher(None, keys_o, keys_t, autojunk=False).get_matching_blocks():
        out.extend(ours[i:a])
        out.extend(theirs[j:b])
        out.extend(theirs[b : b + size])
        i, j = a + size, b + size
    return out
