// A small command-driven driver around an UNMODIFIED PouchDB 9 (Node, leveldb adapter),
// used by tests/test_gateway_pouchdb.py to prove that PouchDB replicates through the
// Sopu sync gateway and that docs/PROTOCOL.md's envelope is implementable from its text.
//
//   node tests/pouchdb/client.mjs '<json command>'      (or the command on stdin)
//
// A command is {"action": ..., "db_dir": ..., "url": ..., "token": ..., ...}, or
// {"steps": [command, ...], <shared fields>} to run several in one process (each step
// inherits the shared fields). It prints exactly ONE JSON line on stdout: the result,
// or {"results": [...]} for steps. Anything PouchDB logs goes to stderr.
//
// Actions (local = new PouchDB(db_dir, {auto_compaction: true}), leveldb on disk;
//          remote = new PouchDB(url) with `Authorization: Bearer <token>`):
//   pull | push | sync     one-shot PouchDB.replicate(remote, local) / (local, remote) /
//                          PouchDB.sync(local, remote); result counters, errors, `denied`
//                          (options: batch_size, doc_ids)
//   put {doc} | {docs}     local.bulkDocs (new edits)
//   get {id, rev?, revs?, open_revs?}
//   all_docs {include_docs?}
//   info                   local.info()
//   seal {doc, key, nonce_hex?, put?}   seal a plaintext document as an envelope
//                          (key = {case_id, version, hex}); put: store it locally
//   open {ids? | envelopes?, keys, all_leaves?}   open envelopes (keys = {case_id:
//                          {version: hex}}); all_leaves: every live leaf of each id
//   edit {id, changes, key, keys?}      open a local envelope, merge `changes`, re-seal
//                          with `key` under the same _id and put it with its _rev
//   live_until {id, seconds?}   live sync (PouchDB.sync live + retry) until document
//                          `id` is local; "LIVE-READY" on stderr once it waits
//   hand_over {ids}        what an app does when told device_revoked: send its unpushed
//                          documents once with remote.bulkDocs(new_edits: false)
//
// Case keys arrive here as hex. Opening the HPKE-sealed keyrings (docs/PROTOCOL.md
// "Device keys and keyrings") stays in Python: the test opens the case key with the
// Python device's private key and passes it to this driver; everything about the
// envelope (canonical JSON, AAD, AES-256-GCM via WebCrypto, base64) is done here.

import { readFileSync } from 'node:fs';
import PouchDB from 'pouchdb';

// Keep stdout for the one result line.
const toStderr = (...args) => process.stderr.write(args.map(String).join(' ') + '\n');
console.log = console.info = console.warn = console.debug = toStderr;

const subtle = globalThis.crypto.subtle;
const AAD_LABEL = 'sopu-envelope-v1';
const NONCE_BYTES = 12;
const TRANSPORT_FIELDS = new Set(['_rev', '_revisions', '_deleted', '_conflicts']);
const ERROR_FIELDS = ['id', 'rev', 'status', 'error', 'name', 'reason', 'message', 'code',
  'wipe', 'device_id', 'problems'];

class EnvelopeError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

// ------------------------------------------------------------------ envelope crypto

/** Compare strings by Unicode code point (what Python's sort_keys does). */
function byCodePoint(a, b) {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** JSON with keys sorted recursively, no whitespace, non-ASCII as itself (PROTOCOL.md). */
function canonicalJSON(value) {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new EnvelopeError('invalid', 'non-finite number');
    return JSON.stringify(value);
  }
  if (typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return '[' + value.map(canonicalJSON).join(',') + ']';
  const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort(byCodePoint);
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalJSON(value[k])).join(',') + '}';
}

function decimal(n, what) {
  if (!Number.isInteger(n)) {
    throw new EnvelopeError('envelope_malformed', `${what} must be an integer`);
  }
  return String(n);
}

/** The AAD: "sopu-envelope-v1" NUL "case-" + case_id NUL _id NUL doc_type NUL
 *  schema_version NUL key_version, numbers in decimal, as UTF-8. */
function envelopeAAD(caseId, docId, docType, schemaVersion, keyVersion) {
  const parts = [AAD_LABEL, 'case-' + caseId, docId, docType,
    decimal(schemaVersion, 'schema_version'), decimal(keyVersion, 'key_version')];
  if (parts.some((p) => typeof p !== 'string' || p.includes('\0'))) {
    throw new EnvelopeError('envelope_malformed', 'a bound field is not a NUL-free string');
  }
  return new TextEncoder().encode(parts.join('\0'));
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function b64decode(text, what) {
  if (typeof text !== 'string' || !B64.test(text)) {
    throw new EnvelopeError('envelope_malformed', `${what} is not standard base64`);
  }
  return new Uint8Array(Buffer.from(text, 'base64'));
}

const b64encode = (bytes) => Buffer.from(bytes).toString('base64');
const hexBytes = (hex) => new Uint8Array(Buffer.from(hex, 'hex'));
const toHex = (bytes) => Buffer.from(bytes).toString('hex');

async function aesKey(hex, usage) {
  const raw = hexBytes(hex);
  if (raw.length !== 32) throw new EnvelopeError('key_unavailable', 'a case key is 32 bytes');
  return subtle.importKey('raw', raw, { name: 'AES-GCM' }, false, [usage]);
}

/** The envelope of plaintext `doc` sealed with key {case_id, version, hex}. */
async function seal(doc, key, nonceHex) {
  const nonce = nonceHex ? hexBytes(nonceHex) : globalThis.crypto.getRandomValues(
    new Uint8Array(NONCE_BYTES));
  const inner = {};
  for (const [k, v] of Object.entries(doc)) if (!TRANSPORT_FIELDS.has(k)) inner[k] = v;
  const aad = envelopeAAD(key.case_id, doc._id, doc.type, doc.schema_version, key.version);
  const ciphertext = await subtle.encrypt(
    { name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 },
    await aesKey(key.hex, 'encrypt'),
    new TextEncoder().encode(canonicalJSON(inner)),
  );
  const envelope = { _id: doc._id };
  if (doc._rev) envelope._rev = doc._rev;
  Object.assign(envelope, {
    doc_type: doc.type,
    schema_version: doc.schema_version,
    case_id: key.case_id,
    key_version: key.version,
    nonce: b64encode(nonce),
    ciphertext: b64encode(new Uint8Array(ciphertext)),
  });
  return { envelope, aad_hex: toHex(aad) };
}

/** The plaintext inside `envelope`; keys = {case_id: {version: hex}}. */
async function openEnvelope(envelope, keys) {
  for (const name of ['_id', 'doc_type', 'case_id']) {
    if (typeof envelope[name] !== 'string') {
      throw new EnvelopeError('envelope_malformed', `envelope field ${name} must be a string`);
    }
  }
  const { _id: id, doc_type: docType, case_id: caseId } = envelope;
  const { schema_version: schemaVersion, key_version: keyVersion } = envelope;
  const hex = (keys[caseId] || {})[String(keyVersion)];
  if (!hex) throw new EnvelopeError('key_unavailable', `no key for case ${caseId} v${keyVersion}`);
  const aad = envelopeAAD(caseId, id, docType, schemaVersion, keyVersion);
  const nonce = b64decode(envelope.nonce, 'nonce');
  if (nonce.length !== NONCE_BYTES) throw new EnvelopeError('envelope_malformed', 'nonce length');
  let plaintext;
  try {
    plaintext = await subtle.decrypt(
      { name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 },
      await aesKey(hex, 'decrypt'),
      b64decode(envelope.ciphertext, 'ciphertext'),
    );
  } catch (err) {
    if (err instanceof EnvelopeError) throw err;
    throw new EnvelopeError('envelope_tampered', `envelope ${id} failed authentication`);
  }
  const doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext));
  if (doc._id !== id || doc.type !== docType || doc.schema_version !== schemaVersion) {
    throw new EnvelopeError('envelope_tampered', `envelope ${id} does not match its contents`);
  }
  if (envelope._rev) doc._rev = envelope._rev;
  return doc;
}

// ------------------------------------------------------------------ PouchDB

function plainError(err) {
  const out = {};
  if (err && typeof err === 'object') {
    for (const k of ERROR_FIELDS) if (err[k] !== undefined) out[k] = err[k];
  } else {
    out.message = String(err);
  }
  return out;
}

function localDb(cmd) {
  if (!cmd.db_dir) throw new Error('db_dir is required');
  return new PouchDB(cmd.db_dir, { auto_compaction: true });
}

function remoteDb(cmd) {
  if (!cmd.url) throw new Error('url is required');
  const token = cmd.token;
  return new PouchDB(cmd.url, {
    skip_setup: true,
    fetch: (u, opts) => {
      if (token) opts.headers.set('Authorization', 'Bearer ' + token);
      return PouchDB.fetch(u, opts);
    },
  });
}

function summary(result, denied) {
  return {
    ok: Boolean(result.ok),
    status: result.status,
    docs_read: result.docs_read,
    docs_written: result.docs_written,
    doc_write_failures: result.doc_write_failures,
    errors: (result.errors || []).map(plainError),
    denied,
    last_seq: result.last_seq,
  };
}

function failure(err, denied) {
  const out = { ok: false, failed: true, ...plainError(err), denied };
  if (err && err.result) out.result = summary(err.result, []);
  return out;
}

async function replicate(source, target, opts) {
  const denied = [];
  const options = { batch_size: opts.batch_size || 100 };
  if (opts.doc_ids) options.doc_ids = opts.doc_ids; // also a separate replication id/checkpoint
  const replication = PouchDB.replicate(source, target, options);
  replication.on('denied', (err) => denied.push(plainError(err)));
  try {
    return summary(await replication, denied);
  } catch (err) {
    return failure(err, denied);
  }
}

async function sync(local, remote, opts) {
  const denied = [];
  const syncing = PouchDB.sync(local, remote, { batch_size: opts.batch_size || 100 });
  syncing.on('denied', (info) => {
    denied.push({ direction: info.direction, ...plainError(info.doc) });
  });
  try {
    const result = await syncing;
    return { ok: true, push: summary(result.push, []), pull: summary(result.pull, []), denied };
  } catch (err) {
    return failure(err, denied);
  }
}

async function attempt(promise) {
  try {
    return { ok: await promise };
  } catch (err) {
    return { error: plainError(err) };
  }
}

function keysOf(cmd) {
  if (cmd.keys) return cmd.keys;
  if (cmd.key) return { [cmd.key.case_id]: { [String(cmd.key.version)]: cmd.key.hex } };
  return {};
}

async function openOne(envelope, keys) {
  try {
    return { ok: await openEnvelope(envelope, keys) };
  } catch (err) {
    return { id: envelope && envelope._id, error: plainError(err) };
  }
}

const ACTIONS = {
  async info(cmd, dbs) {
    return dbs.local().info();
  },
  async pull(cmd, dbs) {
    return replicate(dbs.remote(), dbs.local(), cmd);
  },
  async push(cmd, dbs) {
    return replicate(dbs.local(), dbs.remote(), cmd);
  },
  async sync(cmd, dbs) {
    return sync(dbs.local(), dbs.remote(), cmd);
  },
  async put(cmd, dbs) {
    const docs = cmd.docs || [cmd.doc];
    return (await dbs.local().bulkDocs(docs)).map(plainErrorOrOk);
  },
  async get(cmd, dbs) {
    const opts = {};
    for (const k of ['rev', 'revs', 'open_revs', 'conflicts']) {
      if (cmd[k] !== undefined) opts[k] = cmd[k];
    }
    return attempt(dbs.local().get(cmd.id, opts));
  },
  async all_docs(cmd, dbs) {
    return dbs.local().allDocs({ include_docs: cmd.include_docs !== false });
  },
  async seal(cmd, dbs) {
    const out = await seal(cmd.doc, cmd.key, cmd.nonce_hex);
    if (cmd.put) out.put = plainErrorOrOk((await dbs.local().bulkDocs([out.envelope]))[0]);
    return out;
  },
  async open(cmd, dbs) {
    const keys = keysOf(cmd);
    let envelopes = cmd.envelopes;
    if (!envelopes) {
      const db = dbs.local();
      envelopes = [];
      for (const id of cmd.ids) {
        if (!cmd.all_leaves) {
          envelopes.push(await db.get(id));
          continue;
        }
        for (const leaf of await db.get(id, { open_revs: 'all' })) {
          if (leaf.ok && !leaf.ok._deleted) envelopes.push(leaf.ok);
        }
      }
    }
    return Promise.all(envelopes.map((e) => openOne(e, keys)));
  },
  async edit(cmd, dbs) {
    const db = dbs.local();
    const envelope = await db.get(cmd.id);
    const doc = await openEnvelope(envelope, keysOf(cmd));
    Object.assign(doc, cmd.changes); // doc keeps _rev: the edit is a child of it
    const sealed = await seal(doc, cmd.key);
    const [result] = await db.bulkDocs([sealed.envelope]);
    return { ...plainErrorOrOk(result), parent_rev: envelope._rev };
  },
  async live_until(cmd, dbs) {
    // PouchDB.sync(local, remote, {live: true, retry: true}), as docs/PROTOCOL.md tells
    // apps to run it; "LIVE-READY" on stderr once it has caught up and waits on the
    // server; resolves when document `id` is in the local database (or `seconds`).
    const local = dbs.local();
    const syncing = PouchDB.sync(local, dbs.remote(), { live: true, retry: true });
    let ready = false;
    syncing.on('paused', () => {
      if (!ready) {
        ready = true;
        process.stderr.write('LIVE-READY\n');
      }
    });
    const deadline = Date.now() + (cmd.seconds || 20) * 1000;
    try {
      while (Date.now() < deadline) {
        try {
          const doc = await local.get(cmd.id);
          return { ok: true, arrived_ms: Date.now(), rev: doc._rev };
        } catch (err) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      return { ok: false, error: 'timeout' };
    } finally {
      syncing.cancel();
    }
  },
  async hand_over(cmd, dbs) {
    const db = dbs.local();
    const docs = [];
    for (const id of cmd.ids) docs.push(await db.get(id, { revs: true }));
    return attempt(dbs.remote().bulkDocs(docs, { new_edits: false }));
  },
};

function plainErrorOrOk(result) {
  return result && result.error ? plainError(result) : result;
}

async function run(cmd, dbs) {
  const action = ACTIONS[cmd.action];
  if (!action) throw new Error(`unknown action ${cmd.action}`);
  return action(cmd, dbs);
}

function databases() {
  const cache = new Map();
  const open = (kind, make) => (cmd) => {
    const key = kind + ' ' + (kind === 'local' ? cmd.db_dir : `${cmd.url} ${cmd.token}`);
    if (!cache.has(key)) cache.set(key, make(cmd));
    return cache.get(key);
  };
  const local = open('local', localDb);
  const remote = open('remote', remoteDb);
  return {
    bind: (cmd) => ({ local: () => local(cmd), remote: () => remote(cmd) }),
    close: () => Promise.all([...cache.values()].map((db) => db.close().catch(() => null))),
  };
}

async function main() {
  const raw = process.argv[2] ?? readFileSync(0, 'utf-8');
  const command = JSON.parse(raw);
  const dbs = databases();
  let output;
  try {
    if (Array.isArray(command.steps)) {
      const { steps, ...shared } = command;
      output = { results: [] };
      for (const step of steps) {
        const cmd = { ...shared, ...step };
        output.results.push(await run(cmd, dbs.bind(cmd)));
      }
    } else {
      output = await run(command, dbs.bind(command));
    }
  } catch (err) {
    output = { crashed: true, ...plainError(err), stack: err && err.stack };
  }
  await dbs.close();
  process.stdout.write(JSON.stringify(output) + '\n', () => process.exit(output.crashed ? 2 : 0));
}

main();
