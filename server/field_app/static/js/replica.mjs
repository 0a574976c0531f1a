// The device's replica: a local PouchDB (IndexedDB) holding only envelopes and this
// device's keyrings, synced live with the worker's database /sync/<worker> exactly as
// docs/PROTOCOL.md shows. Documents are decrypted in memory when asked for, never
// written anywhere in the clear; case keys live only as non-extractable CryptoKeys.
import { PouchDB } from "../vendor/vendor.js";
import { canonicalJson, openEnvelope, openKeyring, sealDocument } from "./crypto.mjs";
import { forgetDevice, saveDevice } from "./keystore.mjs";

const OUTBOX = "_local/sopu-outbox"; // id -> rev of local writes not yet pushed
const FIRST_PULL = "_local/sopu-first-pull"; // present once the first pull finished
const MAX_BACK_OFF = 30000;
// Envelopes that are not shown: no key (not, or no longer, ours to read), or one that
// failed authentication (it must not be shown, and retrying cannot help).
const SKIPPED = new Set(["key_unavailable", "envelope_tampered", "envelope_malformed"]);

/** RFC 3339 with seconds and a zone, as the contract wants (no milliseconds). */
export function now() {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A fresh random document id: 32 lowercase hex digits, never derived from content. */
export function newId() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) =>
    b.toString(16).padStart(2, "0")).join("");
}

/** Is `after` the document `before` with reconciliation items acknowledged and nothing
 *  else changed? Such a revision must keep its stamps (PROTOCOL "Merging": a final
 *  note revision whose only change is new acknowledgements is stored as it is). */
export function onlyAcknowledged(before, after) {
  if (!before) return false;
  const bare = (doc) => {
    const { _rev, ...rest } = doc;
    const items = (rest.reconciliation ?? []).map(({ acknowledged, ...item }) => item);
    return canonicalJson({ ...rest, reconciliation: items });
  };
  const acks = (doc) => (doc.reconciliation ?? []).flatMap((i) => i.acknowledged ?? []).length;
  return bare(before) === bare(after) && acks(after) > acks(before);
}

/** A decrypted document with the revision it was read at (`_rev`): the base an edit
 *  of it is made on (save). Sealing drops it: the plaintext never holds `_rev`. */
const withBase = (doc, rev) => ({ ...doc, _rev: rev });

const isKeyring = (doc) => doc.type === "keyring";
const isEnvelope = (doc) => typeof doc.ciphertext === "string" && !doc._deleted;

// Retry quickly at first (a phone walks in and out of coverage), never slower than 30 s.
const backOff = (delay) => (delay === 0 ? 1000 : Math.min(delay * 2, MAX_BACK_OFF));

async function readLocal(db, id, fallback) {
  try {
    return await db.get(id);
  } catch (err) {
    if (err.status === 404) return { _id: id, ...fallback };
    throw err;
  }
}

export class Replica {
  constructor({ device, secret, api, onWipe }) {
    this.device = device;
    this.secret = secret;
    this.api = api;
    this.onWipeCallback = onWipe;
    this.local = new PouchDB(`sopu-replica-${device.deviceId}`, { auto_compaction: true });
    this.keys = new Map(); // `${caseId}:${version}` -> CryptoKey
    this.current = new Map(); // caseId -> current_version
    this.keyringCase = new Map(); // keyring _id -> caseId (a deletion carries no case)
    this.opened = new Map(); // doc id -> {rev, caseId, doc}: decrypted, in memory only
    this.listeners = new Set();
    this.sync = null;
    this.wiped = false;
    this.status = { state: "offline", pulled: 0, total: 0, unsynced: 0, denied: [] };
    this.fetch = api.bearerFetch(device, {
      onTokens: (tokens) => this._saveTokens(tokens),
      onWipe: (body) => this._revoked(body),
    });
    this.remote = new PouchDB(`${device.server}/sync/${device.workerId}`, {
      skip_setup: true,
      fetch: this.fetch,
    });
  }

  /** The replica of an enrolled device; `secret` is unwrapSecret(device.wrapped, pin). */
  static async open({ device, secret, api, onWipe }) {
    const replica = new Replica({ device, secret, api, onWipe });
    await replica._loadKeyrings();
    return replica;
  }

  /** The names of the people the documents name by worker id, {id: name}, from
   *  `GET /api/devices/colleagues` (docs/PROTOCOL.md "Merging"), kept in the device
   *  record so they show offline too; offline or on a failure, the kept ones. It goes
   *  through the replica's own fetch: one holder of the tokens, so a refresh is never
   *  done twice with the same refresh token. */
  async colleagues() {
    try {
      const response = await this.fetch(`${this.device.server}/api/devices/colleagues`);
      if (response.ok) {
        const names = Object.fromEntries((await response.json()).map((p) => [p.id, p.name]));
        this.device = { ...this.device, names };
        await saveDevice(this.device);
      }
    } catch {
      // offline, or the server is away: the names kept from last time
    }
    return this.device.names || {};
  }

  async _saveTokens(tokens) {
    this.device = { ...this.device, tokens };
    await saveDevice(this.device);
  }

  async _loadKeyrings() {
    const rows = (await this.local.allDocs({ include_docs: true })).rows;
    for (const row of rows) {
      if (row.doc && isKeyring(row.doc)) await this._takeKeyring(row.doc);
    }
  }

  /** Open a keyring as it arrives; a deleted one drops that case's keys at once. */
  async _takeKeyring(doc) {
    if (doc._deleted) {
      const caseId = this.keyringCase.get(doc._id);
      if (caseId) this._dropCase(caseId);
      return;
    }
    if (!isKeyring(doc) || doc.device_id !== this.device.deviceId) return;
    this._dropCase(doc.case_id);
    const opened = await openKeyring(doc, this.device.deviceId, this.secret);
    for (const { caseId, version, key } of opened) this.keys.set(`${caseId}:${version}`, key);
    this.current.set(doc.case_id, doc.current_version);
    this.keyringCase.set(doc._id, doc.case_id);
  }

  _dropCase(caseId) {
    for (const id of [...this.keys.keys()]) {
      if (id.startsWith(`${caseId}:`)) this.keys.delete(id);
    }
    this.current.delete(caseId);
    for (const [id, entry] of this.opened) {
      if (entry.caseId === caseId) this.opened.delete(id); // no key: nothing to show
    }
  }

  // ------------------------------------------------------------ sync

  /** Live, retried sync; onState gets {state, pulled, total, unsynced, denied, error?}
   *  on every change: state "pulling" (first pull, with total from the server's
   *  doc_count), "syncing", "idle", "offline", "error" or "wiped"; denied lists the
   *  last pushes the server refused, [{id, code, reason}]. */
  start({ onState = () => {} } = {}) {
    this.onState = onState;
    this.onlineHandler = () => this._restart();
    globalThis.addEventListener?.("online", this.onlineHandler);
    globalThis.addEventListener?.("offline", this.onlineHandler);
    this._begin();
  }

  async _begin() {
    if (this.wiped) return;
    this.firstPull = !(await this.local.get(FIRST_PULL).catch(() => null));
    this.caughtUp = false; // the pull side has not yet caught up with the server
    const offline = globalThis.navigator && navigator.onLine === false;
    await this._report(offline ? "offline" : this._busy());
    if (this.firstPull && !this.status.total) this._fetchTotal();
    const sync = this.local.sync(this.remote, {
      live: true,
      retry: true,
      back_off_function: backOff,
    });
    this.sync = sync;
    sync.on("change", (info) => this._changed(info));
    sync.on("active", () => this._report(this._busy()));
    sync.on("paused", () => this._settle());
    sync.on("denied", (info) => this._denied(info));
    sync.on("error", (err) => this._report("error", err));
    // The sync's own "paused" carries no error, and it fires as soon as the push side
    // has nothing to send; the two replications say when the pull caught up and why
    // they wait.
    this.failed = { push: false, pull: false };
    for (const [name, side] of [["push", sync.push], ["pull", sync.pull]]) {
      side.on("requestError", (err) => this._failed(name, err));
      side.on("paused", (err) => (err ? this._failed(name, err) : this._recovered(name)));
    }
  }

  _busy() {
    return this.firstPull ? "pulling" : "syncing";
  }

  async _fetchTotal() {
    try {
      const info = await this.remote.info();
      this.status.total = info.doc_count ?? 0;
      await this._report(this.status.state);
    } catch {
      // offline: the progress bar waits for the next start
    }
  }

  _restart() {
    if (this.wiped || !this.sync) return;
    this.sync.cancel();
    this._begin();
  }

  /** Stop syncing (the local data stays). */
  stop() {
    globalThis.removeEventListener?.("online", this.onlineHandler);
    globalThis.removeEventListener?.("offline", this.onlineHandler);
    this.sync?.cancel();
    this.sync = null;
  }

  async _changed({ direction, change }) {
    if (direction === "pull") {
      for (const doc of change.docs) {
        if (isKeyring(doc) || (doc._deleted && this.keyringCase.has(doc._id))) {
          await this._takeKeyring(doc).catch(() => {});
        }
      }
      // doc_count (the progress bar's total) counts client documents, not keyrings.
      const clientDocs = change.docs.filter((d) => !isKeyring(d) && !this.keyringCase.has(d._id));
      this.status.pulled += clientDocs.length;
    } else {
      await this._pushed(change.docs);
    }
    await this._report(this.status.state);
    this._notify();
  }

  async _recovered(side) {
    this.failed[side] = false;
    if (side === "pull") this.caughtUp = true;
    await this._settle();
  }

  /** Idle once the pull has caught up and neither side has work left. */
  async _settle() {
    if (this.wiped || !this.sync || !this.caughtUp) return;
    if (globalThis.navigator && navigator.onLine === false) return this._report("offline");
    if (this.failed.push || this.failed.pull) return; // _failed said why
    if (!(this.sync.pushPaused && this.sync.pullPaused)) return;
    if (this.firstPull) {
      this.firstPull = false;
      await this.local.put({ _id: FIRST_PULL, at: now() }).catch(() => {});
    }
    await this._report("idle");
  }

  async _failed(side, err) {
    if (this.wiped) return;
    this.failed[side] = true;
    const offline =
      (globalThis.navigator && navigator.onLine === false) || !err?.status || err.status >= 500;
    await this._report(offline ? "offline" : "error", err);
  }

  async _denied({ direction, doc }) {
    // A refused push is answered per document (PROTOCOL "Pushing"): it stays local,
    // is no longer waiting to be sent, and the state names it with the server's code.
    if (direction !== "push" || !doc?.id) return;
    await this._dropFromOutbox([doc.id]);
    const refusal = { id: doc.id, code: doc.code ?? doc.error, reason: doc.reason };
    this.status.denied = [...this.status.denied.filter((d) => d.id !== doc.id), refusal].slice(-20);
    await this._report(this.status.state);
  }

  async _report(state, err) {
    if (this.wiped && state !== "wiped") return;
    this.status = {
      ...this.status,
      state,
      unsynced: await this.unsyncedCount(),
      error: err ? { status: err.status, code: err.name, message: err.message } : undefined,
    };
    this.onState?.({ ...this.status });
  }

  // ------------------------------------------------------------ the outbox

  async _outbox() {
    return readLocal(this.local, OUTBOX, { pending: {} });
  }

  async _updateOutbox(edit) {
    for (let attempt = 0; attempt < 5; attempt++) {
      const box = await this._outbox();
      edit(box.pending);
      try {
        await this.local.put(box);
        return;
      } catch (err) {
        if (err.status !== 409) throw err; // a concurrent update: read again
      }
    }
  }

  async _pushed(docs) {
    await this._updateOutbox((pending) => {
      for (const doc of docs) if (pending[doc._id] === doc._rev) delete pending[doc._id];
    });
  }

  async _dropFromOutbox(ids) {
    await this._updateOutbox((pending) => ids.forEach((id) => delete pending[id]));
  }

  /** How many local writes the server has not acknowledged yet. */
  async unsyncedCount() {
    if (this.wiped) return 0;
    try {
      return Object.keys((await this._outbox()).pending).length;
    } catch {
      return 0;
    }
  }

  // ------------------------------------------------------------ documents

  onChange(callback) {
    this.listeners.add(callback);
    return () => this.listeners.delete(callback);
  }

  _notify() {
    for (const callback of this.listeners) {
      try {
        callback();
      } catch {
        // one screen's fault must not stop the others from refreshing
      }
    }
  }

  async _open(envelope) {
    try {
      return await openEnvelope(envelope, this.keys);
    } catch (err) {
      if (SKIPPED.has(err.code)) return null;
      throw err;
    }
  }

  /** Every client document of the device's cases, decrypted (in memory only). The
   *  screens ask after every pulled batch, so what was opened is kept, per revision,
   *  for the next call: during a first pull of thousands of documents each is
   *  decrypted once, not once per batch. Each caller gets its own copy. */
  async documents() {
    const rows = (await this.local.allDocs({ include_docs: true })).rows;
    const docs = [];
    const opened = new Map();
    for (const row of rows) {
      if (!row.doc || !isEnvelope(row.doc)) continue;
      const known = this.opened.get(row.id);
      const doc = known?.rev === row.doc._rev ? known.doc : await this._open(row.doc);
      if (!doc) continue;
      opened.set(row.id, { rev: row.doc._rev, caseId: row.doc.case_id, doc });
      docs.push(withBase(structuredClone(doc), row.doc._rev));
    }
    this.opened = opened;
    return docs;
  }

  /** One decrypted document, or null (missing, deleted, or no key for it). */
  async get(id) {
    const envelope = await this.local.get(id).catch(() => null);
    if (!envelope || !isEnvelope(envelope)) return null;
    const doc = await this._open(envelope);
    return doc && withBase(doc, envelope._rev);
  }

  _caseOf(doc, existing) {
    if (existing?.case_id) return existing.case_id;
    if (doc.case_id) return doc.case_id;
    if (doc.type === "case") return doc._id;
    throw new Error(`which case holds ${doc.type} ${doc._id} is not known`);
  }

  /** Seal `doc` with its case's current key and write it locally (the sync pushes it).
   *  Stamps updated_at/updated_by (and created_* on a new document), since every
   *  revision this device writes is its worker's, now; except a revision that only
   *  acknowledges reconciliation items, which keeps its stamps. Returns the saved
   *  plaintext document.
   *
   *  `doc._rev` (as documents() and get() give it) is the revision the edit was made
   *  on. When a pull brought a newer one meanwhile (the pair worker's edit arrived
   *  while the note was open), the edit is written as a branch on top of the revision
   *  it was made on, not over the newer one: the two are then concurrent, and the
   *  server merges them at the next push, so neither worker's words are lost
   *  (PROTOCOL "Merging"). Writing over the newer revision would silently undo it. */
  async save(doc) {
    const base = doc._rev;
    const existing = await this.local.get(doc._id).catch(() => null);
    const caseId = this._caseOf(doc, existing);
    const version = this.current.get(caseId);
    const key = this.keys.get(`${caseId}:${version}`);
    if (!key) throw new Error(`no key for case ${caseId}: its keyring has not arrived`);
    const before = existing && isEnvelope(existing) ? await this._open(existing) : null;
    const plain = { ...doc };
    delete plain._rev;
    if (!onlyAcknowledged(before, plain)) this._stamp(plain, !existing);
    const envelope = await sealDocument(plain, { caseId, version, key });
    const ancestry = existing && base && base !== existing._rev
      ? await this._ancestry(plain._id, base) : null;
    let rev;
    if (ancestry) {
      rev = await this._branch(envelope, ancestry);
    } else {
      if (existing) envelope._rev = existing._rev;
      ({ rev } = await this.local.put(envelope));
    }
    await this._updateOutbox((pending) => {
      pending[plain._id] = rev;
    });
    await this._report(this.status.state);
    this._notify();
    return plain;
  }

  /** The ancestry ({start, ids}) of revision `base` of a document, from the leaf
   *  that descends from it; null when no leaf does (then the edit goes on top). */
  async _ancestry(id, base) {
    const [n, hash] = [Number(base.split("-")[0]), base.split("-")[1]];
    const leaves = await this.local.get(id, { open_revs: "all", revs: true }).catch(() => []);
    for (const leaf of leaves) {
      const revisions = leaf.ok?._revisions;
      const at = revisions ? revisions.ids.indexOf(hash) : -1;
      if (at >= 0 && revisions.start - at === n) return { start: n, ids: revisions.ids.slice(at) };
    }
    return null;
  }

  /** Write `envelope` as a new child of the revision `ancestry` ends at, beside the
   *  newer revision, as a replicator writes (new_edits: false). */
  async _branch(envelope, ancestry) {
    const hash = newId();
    envelope._rev = `${ancestry.start + 1}-${hash}`;
    envelope._revisions = { start: ancestry.start + 1, ids: [hash, ...ancestry.ids] };
    await this.local.bulkDocs([envelope], { new_edits: false });
    return envelope._rev;
  }

  _stamp(doc, isNew) {
    const stamp = now();
    doc.updated_at = stamp;
    doc.updated_by = this.device.workerId;
    if (isNew) {
      doc.created_at ??= stamp;
      doc.created_by ??= this.device.workerId;
    }
  }

  // ------------------------------------------------------------ wipe

  async _revoked() {
    if (this.wiped) return;
    await this.wipe();
    await this.onWipeCallback?.();
  }

  /** Destroy the local database and forget the device (keys and tokens): revocation,
   *  or the worker handing the phone back. */
  async wipe() {
    this.wiped = true;
    this.stop();
    this.keys.clear();
    this.current.clear();
    this.opened.clear();
    this.secret?.fill?.(0);
    await this.local.destroy().catch(() => {});
    await forgetDevice().catch(() => {});
    this.status = { state: "wiped", pulled: 0, total: 0, unsynced: 0, denied: [] };
    this.onState?.({ ...this.status });
    this._notify();
  }
}
