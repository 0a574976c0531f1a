// Access events (PROTOCOL "Device-side views"): every time the worker opens client
// documents, the app writes one `access_event` per case naming the documents shown —
// ids and a time only, never what they say — and the sync pushes it to the server's
// access log, so a family can learn who read their records, on a phone too.
import { newId, notesOf, SCHEMA_VERSION, stamp, visitsOn, localDate } from "./model.mjs";

const MAX_IDS = 200;

/** caseId -> ids of the documents the screen at `hash` puts on screen. */
export function shownDocs(hash, index) {
  const shown = new Map();
  const add = (caseId, ...ids) => {
    if (!caseId || !index.byId.has(caseId)) return;
    const set = shown.get(caseId) || new Set();
    ids.filter((id) => id && index.byId.has(id)).forEach((id) => set.add(id));
    shown.set(caseId, set);
  };
  const familyId = (caseId) => index.family(index.byId.get(caseId))?._id;
  const [, screen, id] = hash.match(/^#\/([a-z]+)(?:\/([0-9a-f]{32}))?/) || [];
  if (screen === "today") {
    for (const v of visitsOn(index, localDate())) add(v.case_id, v._id, familyId(v.case_id));
  } else if (screen === "cases") {
    for (const c of index.cases) add(c._id, c._id, familyId(c._id));
  } else if (screen === "case") {
    const docs = [...notesOf(index, id), ...index.ofCase(id, "plan"), ...index.ofCase(id, "assessment")];
    add(id, id, familyId(id), ...docs.map((d) => d._id));
  } else if (id && index.byId.has(id)) {
    const doc = index.byId.get(id);
    const caseId = doc.case_id || doc._id;
    add(caseId, doc._id, doc.visit_id, familyId(caseId));
  }
  return shown;
}

/** The access events for what was shown, at most 200 ids each. */
export function accessEvents(shown, me, deviceId) {
  const at = stamp();
  const events = [];
  for (const [caseId, ids] of shown) {
    const all = [...ids];
    for (let i = 0; i < all.length; i += MAX_IDS) {
      events.push({
        _id: newId(), type: "access_event", schema_version: SCHEMA_VERSION, case_id: caseId,
        device_id: deviceId, viewed_at: at, doc_ids: all.slice(i, i + MAX_IDS),
        created_at: at, created_by: me, updated_at: at, updated_by: me,
      });
    }
  }
  return events;
}
