// Drives the field app's crypto.mjs and keystore.mjs from Python tests
// (tests/test_field_app_crypto.py): a JSON list of operations on stdin, a JSON list of
// results on stdout, each {"ok": value} or {"error": code, "message": text}. One
// process serves a whole batch, so property tests do not pay node's start-up per case.
import "./node_globals.mjs";
import {
  canonicalJson, envelopeAad, generateDeviceKeys, importCaseKey, keyringInfo,
  openEnvelope, openKeyring, openSealedKey, publicKeyOf, sealDocument,
} from "../../server/field_app/static/js/crypto.mjs";
import { unwrapSecret, wrapSecret } from "../../server/field_app/static/js/keystore.mjs";

const hex = (bytes) => Buffer.from(bytes).toString("hex");
const unhex = (text) => new Uint8Array(Buffer.from(text, "hex"));

async function keyMap(keys) {
  const map = new Map();
  for (const k of keys) map.set(`${k.case_id}:${k.version}`, await importCaseKey(unhex(k.key_hex)));
  return map;
}

const OPS = {
  canonical: ({ value }) => canonicalJson(value),
  aad: (a) => hex(envelopeAad(a.case_id, a._id, a.doc_type, a.schema_version, a.key_version)),
  info: (a) => hex(keyringInfo(a.device_id, a.case_id, a.key_version)),
  seal: async ({ docs, case_id, version, key_hex }) => {
    const caseKey = { caseId: case_id, version, key: await importCaseKey(unhex(key_hex)) };
    return Promise.all(docs.map((doc) => sealDocument(doc, caseKey)));
  },
  open: async ({ envelope, keys }) => openEnvelope(envelope, await keyMap(keys)),
  generate: async ({ kem }) => {
    const { publicKey, secret } = await generateDeviceKeys(kem);
    return { public_key: publicKey, secret_hex: hex(secret) };
  },
  public_of: ({ kem, secret_hex }) => publicKeyOf(kem, unhex(secret_hex)),
  open_sealed: async (a) => hex(await openSealedKey(
    a.sealed, a.kem, unhex(a.secret_hex), a.device_id, a.case_id, a.version,
  )),
  open_with_keyring: async ({ keyring, device_id, secret_hex, envelopes }) => {
    const keys = await openKeyring(keyring, device_id, unhex(secret_hex));
    const map = new Map(keys.map((k) => [`${k.caseId}:${k.version}`, k.key]));
    return {
      versions: keys.map((k) => k.version),
      extractable: keys.map((k) => k.key.extractable),
      docs: await Promise.all(envelopes.map((e) => openEnvelope(e, map))),
    };
  },
  wrap: async ({ secret_hex, pin, n }) => wrapSecret(unhex(secret_hex), pin, n ? { n } : {}),
  unwrap: async ({ wrapped, pin }) => hex(await unwrapSecret(wrapped, pin)),
};

async function run(op) {
  try {
    return { ok: await OPS[op.op](op) };
  } catch (err) {
    return { error: err.code ?? err.name, message: String(err.message) };
  }
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const op of JSON.parse(input)) results.push(await run(op));
process.stdout.write(JSON.stringify(results));
