// Envelope and keyring cryptography of docs/PROTOCOL.md ("Encryption"), in the browser.
// AES-256-GCM comes from WebCrypto, HPKE (RFC 9180) from @hpke/core with its X25519 and
// X-Wing KEMs; nothing here is a home-made primitive, only the byte layouts the
// protocol fixes (AAD, HPKE info, base64, the device secret).
import {
  Aes256Gcm,
  CipherSuite,
  DhkemX25519HkdfSha256,
  HkdfSha256,
  XWing,
} from "../vendor/vendor.js";

export const X25519 = "x25519";
export const HYBRID = "mlkem768-x25519";
const AAD_LABEL = "sopu-envelope-v1";
const INFO_LABEL = "sopu-keyring-v1";
const NONCE_BYTES = 12;
const KEY_BYTES = 32;
const X25519_BYTES = 32;
const MLKEM_SEED_BYTES = 64;
const MLKEM_PUBLIC_BYTES = 1184;
// The X25519 base point (u = 9): multiplying by it gives a private key's public key.
const X25519_BASE = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 9 : 0));
const TRANSPORT_FIELDS = new Set(["_rev", "_revisions", "_deleted", "_conflicts"]);
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Why an envelope or sealed key did not open; `code` matches sync/crypto/errors.py. */
export class CryptoError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "CryptoError";
    this.code = code;
  }
}

// ---------------------------------------------------------------- encodings

/** Standard base64 with padding, what every platform (and Python) reads. */
export function b64encode(bytes) {
  let text = "";
  const view = new Uint8Array(bytes);
  for (let i = 0; i < view.length; i += 0x8000) {
    text += String.fromCharCode(...view.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

export function b64decode(text, what = "value") {
  if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4) {
    throw new CryptoError("envelope_malformed", `${what} is not valid standard base64`);
  }
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** JSON with keys sorted recursively, no whitespace, non-ASCII as itself: the same
 *  bytes as Python's json.dumps(sort_keys=True, separators=(",", ":"),
 *  ensure_ascii=False). JSON.stringify already leaves non-ASCII unescaped. */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort(byCodePoint);
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new CryptoError("envelope_malformed", "NaN and Infinity are not JSON");
  }
  return JSON.stringify(value);
}

// Python sorts keys by code point; JS's default sort compares UTF-16 units, which
// differs for characters beyond the BMP (emoji) next to U+E000..U+FFFF.
function byCodePoint(a, b) {
  const x = Array.from(a, (c) => c.codePointAt(0));
  const y = Array.from(b, (c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

/** Fields joined by NUL bytes, as UTF-8; numbers in decimal. */
function nulJoined(...parts) {
  const texts = parts.map(String);
  if (texts.some((t) => t.includes("\0"))) {
    throw new CryptoError("envelope_malformed", "a bound field contains a NUL byte");
  }
  return utf8.encode(texts.join("\0"));
}

export function envelopeAad(caseId, docId, docType, schemaVersion, keyVersion) {
  return nulJoined(AAD_LABEL, `case-${caseId}`, docId, docType, schemaVersion, keyVersion);
}

export function keyringInfo(deviceId, caseId, keyVersion) {
  return nulJoined(INFO_LABEL, deviceId, caseId, keyVersion);
}

// ---------------------------------------------------------------- envelopes

/** A case key as a non-extractable WebCrypto AES-GCM key. */
export async function importCaseKey(raw) {
  if (raw.byteLength !== KEY_BYTES) {
    throw new CryptoError("envelope_tampered", "a case key has the wrong length");
  }
  return crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
}

/** The envelope of `doc` (without _rev), sealed with caseKey = {caseId, version, key}. */
export async function sealDocument(doc, caseKey) {
  const inner = Object.fromEntries(
    Object.entries(doc).filter(([k]) => !TRANSPORT_FIELDS.has(k)),
  );
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const aad = envelopeAad(caseKey.caseId, doc._id, doc.type, doc.schema_version, caseKey.version);
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: aad },
    caseKey.key,
    utf8.encode(canonicalJson(inner)),
  );
  return {
    _id: doc._id,
    doc_type: doc.type,
    schema_version: doc.schema_version,
    case_id: caseKey.caseId,
    key_version: caseKey.version,
    nonce: b64encode(nonce),
    ciphertext: b64encode(ciphertext),
  };
}

/** The plaintext document of `envelope`; keys: Map `${caseId}:${version}` -> CryptoKey.
 *  Throws CryptoError key_unavailable, envelope_tampered or envelope_malformed. */
export async function openEnvelope(envelope, keys) {
  const fields = routingFields(envelope);
  const key = keys.get(`${fields.case_id}:${fields.key_version}`);
  if (!key) {
    throw new CryptoError(
      "key_unavailable",
      `no key for case ${fields.case_id} version ${fields.key_version}`,
    );
  }
  const aad = envelopeAad(
    fields.case_id, fields._id, fields.doc_type, fields.schema_version, fields.key_version,
  );
  let plaintext;
  try {
    plaintext = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: fields.nonce, additionalData: aad }, key, fields.ciphertext,
    );
  } catch {
    throw new CryptoError("envelope_tampered", `envelope ${fields._id} failed authentication`);
  }
  return innerDocument(plaintext, fields);
}

function routingFields(envelope) {
  if (envelope === null || typeof envelope !== "object") {
    throw new CryptoError("envelope_malformed", "an envelope is a JSON object");
  }
  for (const name of ["_id", "doc_type", "case_id"]) {
    if (typeof envelope[name] !== "string") {
      throw new CryptoError("envelope_malformed", `envelope field ${name} must be a string`);
    }
  }
  for (const name of ["schema_version", "key_version"]) {
    if (!Number.isInteger(envelope[name])) {
      throw new CryptoError("envelope_malformed", `envelope field ${name} must be an integer`);
    }
  }
  const nonce = b64decode(envelope.nonce, "nonce");
  if (nonce.length !== NONCE_BYTES) {
    throw new CryptoError("envelope_malformed", `nonce must be ${NONCE_BYTES} bytes`);
  }
  return { ...envelope, nonce, ciphertext: b64decode(envelope.ciphertext, "ciphertext") };
}

function innerDocument(plaintext, fields) {
  let doc;
  try {
    doc = JSON.parse(strictUtf8.decode(plaintext));
  } catch {
    throw new CryptoError("envelope_malformed", "the plaintext is not a JSON object");
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new CryptoError("envelope_malformed", "the plaintext is not a JSON object");
  }
  if (
    doc._id !== fields._id ||
    doc.type !== fields.doc_type ||
    doc.schema_version !== fields.schema_version
  ) {
    throw new CryptoError(
      "envelope_tampered", `envelope ${fields._id} does not match its contents`,
    );
  }
  return doc;
}

// ---------------------------------------------------------------- device keys

/** X-Wing (0x647A) for a device secret kept as PROTOCOL.md stores it: the X25519
 *  private key followed by the 64-byte ML-KEM-768 seed (d || z), which is also how
 *  Python's `cryptography` keeps the two halves. @hpke/hybridkem-x-wing 0.7.0 (pinned)
 *  takes a 32-byte X-Wing seed and expands it into those two halves in
 *  `_expandDecapsulationKey`; this subclass supplies the halves directly instead, so
 *  encapsulation, decapsulation and the combiner stay the library's own code. */
class XWingFromParts extends XWing {
  constructor(secret) {
    super();
    this._parts = secret;
  }

  async _expandDecapsulationKey() {
    const skX = this._parts.subarray(0, X25519_BYTES);
    const [pkM, skM] = await this._m.deriveKeyPair(this._parts.slice(X25519_BYTES));
    const pkX = new Uint8Array(await this._x25519.derive(skX, X25519_BASE));
    return [new Uint8Array(skM), skX, new Uint8Array(pkM), pkX];
  }

  /** The library's decapsulation reads the private key only to expand it (above), so
   *  any 32-byte handle of the right type stands for the device's key. */
  async recipientKey() {
    return this.importKey("raw", this._parts.slice(0, 32), false);
  }

  async publicParts() {
    const [, , pkM, pkX] = await this._expandDecapsulationKey();
    return { mlkem768: pkM, x25519: pkX };
  }
}

function suiteFor(kem) {
  return new CipherSuite({ kem, kdf: new HkdfSha256(), aead: new Aes256Gcm() });
}

function checkKem(kem) {
  if (kem !== X25519 && kem !== HYBRID) {
    throw new CryptoError("envelope_malformed", `unknown KEM ${kem}`);
  }
}

/** A new device key pair: the public key JSON to enrol, and the raw secret to wrap
 *  under the PIN (32 bytes for x25519; 96 = X25519 key || ML-KEM seed for the hybrid). */
export async function generateDeviceKeys(kem = X25519) {
  checkKem(kem);
  if (kem === X25519) {
    const dhkem = new DhkemX25519HkdfSha256();
    const pair = await dhkem.generateKeyPair();
    const secret = new Uint8Array(await dhkem.serializePrivateKey(pair.privateKey));
    const pub = new Uint8Array(await dhkem.serializePublicKey(pair.publicKey));
    return { publicKey: { kem, x25519: b64encode(pub) }, secret };
  }
  const secret = crypto.getRandomValues(new Uint8Array(X25519_BYTES + MLKEM_SEED_BYTES));
  return { publicKey: await publicKeyOf(HYBRID, secret), secret };
}

/** The enrolment public key JSON belonging to a device secret. */
export async function publicKeyOf(kem, secret) {
  checkKem(kem);
  checkSecret(kem, secret);
  if (kem === X25519) {
    // The library's X25519 function (the one X-Wing uses) times the base point.
    const pk = await new XWing()._x25519.derive(secret, X25519_BASE);
    return { kem, x25519: b64encode(new Uint8Array(pk)) };
  }
  const parts = await new XWingFromParts(secret).publicParts();
  if (parts.mlkem768.length !== MLKEM_PUBLIC_BYTES) {
    throw new CryptoError("envelope_malformed", "the ML-KEM-768 public key has the wrong length");
  }
  return { kem, x25519: b64encode(parts.x25519), mlkem768: b64encode(parts.mlkem768) };
}

function checkSecret(kem, secret) {
  const expected = kem === X25519 ? X25519_BYTES : X25519_BYTES + MLKEM_SEED_BYTES;
  if (!(secret instanceof Uint8Array) || secret.length !== expected) {
    throw new CryptoError("envelope_malformed", `a ${kem} device secret is ${expected} bytes`);
  }
}

/** Open one sealed case key (base64 of enc || ct) to its 32 raw bytes. */
export async function openSealedKey(sealed, kem, secret, deviceId, caseId, version) {
  checkKem(kem);
  checkSecret(kem, secret);
  const bytes = b64decode(sealed, "sealed key");
  let suite;
  let recipientKey;
  if (kem === X25519) {
    suite = suiteFor(new DhkemX25519HkdfSha256());
    recipientKey = await suite.kem.deserializePrivateKey(secret.slice().buffer);
  } else {
    const xwing = new XWingFromParts(secret);
    suite = suiteFor(xwing);
    recipientKey = await xwing.recipientKey();
  }
  const encSize = suite.kem.encSize;
  if (bytes.length <= encSize) {
    throw new CryptoError("envelope_tampered", `sealed key for case ${caseId} is too short`);
  }
  let raw;
  try {
    raw = await suite.open(
      { recipientKey, enc: bytes.slice(0, encSize), info: keyringInfo(deviceId, caseId, version) },
      bytes.slice(encSize),
    );
  } catch {
    throw new CryptoError(
      "envelope_tampered", `sealed key for case ${caseId} v${version} did not open`,
    );
  }
  return new Uint8Array(raw);
}

/** Every key version of a keyring document, opened and imported as non-extractable
 *  AES-GCM keys: [{caseId, version, key}]. A version that does not open is an error
 *  (tampering or a keyring of another device), never silently skipped. */
export async function openKeyring(keyringDoc, deviceId, secret) {
  if (keyringDoc.type !== "keyring" || keyringDoc.device_id !== deviceId) {
    throw new CryptoError("envelope_malformed", "not a keyring of this device");
  }
  const out = [];
  for (const entry of keyringDoc.keys ?? []) {
    const raw = await openSealedKey(
      entry.sealed, keyringDoc.kem, secret, deviceId, keyringDoc.case_id, entry.version,
    );
    out.push({ caseId: keyringDoc.case_id, version: entry.version, key: await importCaseKey(raw) });
    raw.fill(0);
  }
  return out;
}
