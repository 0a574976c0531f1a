// Pure work on decrypted documents (plain objects, in memory only): indexes, today's
// visits, new documents and reconciliation paths. No DOM, no storage, no network.

export const SCHEMA_VERSION = 3;

/** A fresh random id: 32 lowercase hex digits from the CSPRNG (never from data). */
export function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const two = (n) => String(n).padStart(2, "0");

/** The device's clock as RFC 3339 with seconds and its own offset. */
export function stamp(date = new Date()) {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const zone = `${sign}${two(Math.floor(Math.abs(offset) / 60))}:${two(Math.abs(offset) % 60)}`;
  return `${localDate(date)}T${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}${zone}`;
}

/** Today (or `date`) as YYYY-MM-DD on the device's clock. */
export function localDate(date = new Date()) {
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}`;
}

/** The documents grouped for the screens. `familyCases` maps a family document's id to
 * the case whose key sealed it (the envelope's clear `case_id`): a family document
 * carries no case id, and the case's `family_id` names the family, not the document. */
export function indexDocs(docs, familyCases = new Map()) {
  const byId = new Map(docs.map((d) => [d._id, d]));
  const familyOfCase = new Map(docs.filter((d) => d.type === "family" && familyCases.has(d._id))
    .map((d) => [familyCases.get(d._id), d]));
  const ofType = (type) => docs.filter((d) => d.type === type);
  return {
    byId,
    cases: ofType("case"),
    ofCase: (caseId, type) => docs.filter((d) => d.case_id === caseId && d.type === type),
    family: (caseDoc) => (caseDoc ? familyOfCase.get(caseDoc._id) || byId.get(caseDoc.family_id) : undefined),
    visits: ofType("visit"),
    all: docs,
  };
}

export function familyName(index, caseId, fallback) {
  return index.family(index.byId.get(caseId))?.display_name || fallback;
}

/** A visit's day is the date part of its `starts_at` as written (PROTOCOL "Sync"). */
export function visitsOn(index, day) {
  return index.visits
    .filter((v) => v.starts_at.slice(0, 10) === day && v.status !== "cancelled")
    .sort((a, b) => a.starts_at.localeCompare(b.starts_at));
}

export function caseload(index, fallback) {
  return index.cases
    .map((c) => ({ caseDoc: c, name: familyName(index, c._id, fallback) }))
    .sort((a, b) => a.name.localeCompare(b.name, "fi"));
}

export function notesOf(index, caseId) {
  return index.ofCase(caseId, "note").sort((a, b) => b.occurred_at.localeCompare(a.occurred_at));
}

/** Items nobody has resolved: not removed and not acknowledged. */
export function openItems(doc) {
  return (doc?.reconciliation || []).filter((item) => !(item.acknowledged || []).length);
}

export function withOpenItems(index, caseId) {
  return index.all.filter((d) => (d.case_id === caseId || d._id === caseId) && openItems(d).length);
}

export function memberName(member) {
  return [member.given_names, member.family_name].filter(Boolean).join(" ");
}

/** Who wrote a revision: "you" for this worker, else the id's short form (the bundle
 * holds no accounts and a worker may not list the team's names). */
/** "you", the person's name (`names`: the replica's colleagues), or a short id. */
export function workerLabel(workerId, me, t, names = {}) {
  if (workerId === me) return t("you");
  return names[workerId] || t("worker_short", { id: workerId.slice(0, 8) });
}

/** The stamps every revision written on this device carries. */
export function stamped(doc, me, { created = false } = {}) {
  const now = stamp();
  const out = { ...doc, schema_version: SCHEMA_VERSION, updated_at: now, updated_by: me };
  if (created) Object.assign(out, { created_at: now, created_by: me });
  return out;
}

export function newNote(caseId, me, visitId) {
  const note = {
    _id: newId(), type: "note", case_id: caseId, kind: "entry", occurred_at: stamp(),
    state: "draft", written_with_client: true, agreed_actions: [],
    client_review: { status: "not_reviewed" },
  };
  if (visitId) note.visit_id = visitId;
  return stamped(note, me, { created: true });
}

/** A correction of a final note: a new note that names it, the original kept as it is
 * (a final note never changes; DESIGN "note"). Starts from the original's content. */
export function newAmendment(original, me) {
  const note = newNote(original.case_id, me, original.visit_id);
  for (const name of ["discussion", "client_view", "written_with_client"]) {
    if (original[name] !== undefined && original[name] !== null) note[name] = original[name];
  }
  note.agreed_actions = structuredClone(original.agreed_actions || []);
  return { ...note, kind: "amendment", amends: original._id };
}

/** A visit made for a note written without one, so its participants have a home
 * (participants belong to the visit in the contract, not to the note). */
export function newVisit(caseId, me, startsAt, kind = "home") {
  const visit = {
    _id: newId(), type: "visit", case_id: caseId, kind, status: "done", starts_at: startsAt,
    participants: [{ id: newId(), kind: "worker", worker_id: me }],
  };
  return stamped(visit, me, { created: true });
}

export function finalised(note, me) {
  return { ...note, state: "final", finalised_by: me, finalised_at: stamp() };
}

/** A reconciliation value is JSON text; null when that side removed the value. */
export function parseSide(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function showValue(value) {
  if (value === null || value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value, null, 1);
}

/** Set the value a reconciliation path names (list items by their `id`); returns a copy. */
export function setAtPath(doc, path, value) {
  const copy = structuredClone(doc);
  const parts = path.split("/").slice(1);
  let node = copy;
  for (const [i, part] of parts.entries()) {
    const last = i === parts.length - 1;
    if (Array.isArray(node)) {
      const at = node.findIndex((item) => item.id === part);
      if (at < 0) throw new Error("path not found");
      if (last) node[at] = value;
      else node = node[at];
    } else if (last) {
      node[part] = value;
    } else {
      node = node[part];
    }
    if (node === undefined || node === null) throw new Error("path not found");
  }
  return copy;
}

/** A path an edit can settle on this device: a field or a list item's field. */
export function editable(doc, item) {
  if (!["text", "value", "removed_edited"].includes(item.kind) || item.path === "") return false;
  return doc.type !== "note" || doc.state !== "final";
}

export function acknowledge(doc, itemId, me) {
  const copy = structuredClone(doc);
  const item = copy.reconciliation.find((i) => i.id === itemId);
  item.acknowledged = [...(item.acknowledged || []), { id: newId(), by: me, at: stamp() }];
  return copy;
}

export function resolveWith(doc, itemId, path, value, me) {
  const settled = setAtPath(doc, path, value);
  settled.reconciliation = settled.reconciliation.filter((i) => i.id !== itemId);
  return stamped(settled, me);
}
