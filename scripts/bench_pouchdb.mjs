// Timed one-shot PouchDB pulls for scripts/bench_sync.py (unmodified PouchDB 9, Node,
// leveldb on disk — the same client tests/pouchdb/client.mjs drives).
//
//   node scripts/bench_pouchdb.mjs '<json command>'      (or the command on stdin)
//
// Command: {"url": remote database URL, "token": bearer token or null (no auth header),
//           "db_dir": local leveldb directory, "batch_size": 100,
//           "noop_repeats": 0}
//
// Runs PouchDB.replicate(remote, local, {batch_size}) once and times ONLY the
// replication (node startup, module loading and opening the databases are outside the
// clock), then `noop_repeats` more replications of the same pair, each timed (they find
// nothing new: a no-op sync). Prints exactly ONE JSON line on stdout:
//   {"ok", "docs_read", "docs_written", "doc_write_failures", "errors", "last_seq",
//    "elapsed_ms", "requests": {endpoint: count}, "noop_ms": [...], "noop_docs_read": [...]}
// Anything PouchDB logs goes to stderr.

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import PouchDB from 'pouchdb';

const toStderr = (...args) => process.stderr.write(args.map(String).join(' ') + '\n');
console.log = console.info = console.warn = console.debug = toStderr;

function endpoint(url) {
  const path = new URL(url).pathname;
  const match = path.match(/\/(_[a-z_]+)/);
  return match ? match[1] : 'db';
}

function remoteDb(cmd, counts) {
  const token = cmd.token;
  return new PouchDB(cmd.url, {
    skip_setup: true,
    fetch: (u, opts) => {
      if (token) opts.headers.set('Authorization', 'Bearer ' + token);
      const key = `${opts.method || 'GET'} ${endpoint(u)}`;
      counts[key] = (counts[key] || 0) + 1;
      return PouchDB.fetch(u, opts);
    },
  });
}

function plainError(err) {
  const out = {};
  for (const k of ['status', 'error', 'name', 'reason', 'message']) {
    if (err && err[k] !== undefined) out[k] = String(err[k]);
  }
  return out;
}

async function timedPull(remote, local, batchSize) {
  const started = performance.now();
  try {
    const result = await PouchDB.replicate(remote, local, { batch_size: batchSize });
    return {
      ok: Boolean(result.ok),
      docs_read: result.docs_read,
      docs_written: result.docs_written,
      doc_write_failures: result.doc_write_failures,
      errors: (result.errors || []).map(plainError),
      last_seq: result.last_seq,
      elapsed_ms: performance.now() - started,
    };
  } catch (err) {
    return { ok: false, errors: [plainError(err)], elapsed_ms: performance.now() - started };
  }
}

async function main() {
  const raw = process.argv[2] ?? readFileSync(0, 'utf-8');
  const cmd = JSON.parse(raw);
  const batchSize = cmd.batch_size || 100;
  const counts = {};
  const local = new PouchDB(cmd.db_dir, { auto_compaction: true });
  const remote = remoteDb(cmd, counts);
  await local.info(); // open leveldb before the clock starts
  const output = await timedPull(remote, local, batchSize);
  output.requests = { ...counts };
  output.noop_ms = [];
  output.noop_docs_read = [];
  const repeats = Math.min(Math.max(cmd.noop_repeats || 0, 0), 1000);
  for (let i = 0; i < repeats && output.ok; i++) {
    const again = await timedPull(remote, local, batchSize);
    output.noop_ms.push(again.elapsed_ms);
    output.noop_docs_read.push(again.docs_read);
    if (!again.ok) output.errors.push(...again.errors);
  }
  await Promise.all([local.close(), remote.close()].map((p) => p.catch(() => null)));
  process.stdout.write(JSON.stringify(output) + '\n', () => process.exit(0));
}

main().catch((err) => {
  process.stdout.write(JSON.stringify({ ok: false, crashed: true, errors: [plainError(err)],
    stack: err && err.stack }) + '\n', () => process.exit(2));
});
