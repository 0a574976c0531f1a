// The device's own key at rest (docs/PROTOCOL.md "Keys at rest on the device"): the
// secret is encrypted with AES-256-GCM (WebCrypto) under a key derived from the
// worker's PIN with scrypt (@noble/hashes, N = 2^15, r = 8, p = 1, 16-byte salt), AAD
// "sopu-device-key-v1". The stored object has the same shape as Python's
// sync.crypto.DeviceKeys.protect(), so either side reads the other's key file.
// The enrolment record (server, worker, device id, tokens, the wrapped secret) lives in
// a small local PouchDB, "sopu-device", as a _local document: it never replicates.
import { PouchDB, scryptAsync } from "../vendor/vendor.js";
import { b64decode, b64encode, CryptoError, HYBRID, X25519 } from "./crypto.mjs";

const AAD = new TextEncoder().encode("sopu-device-key-v1");
export const SCRYPT_N = 2 ** 15; // ~32 MiB: memory-hard enough for a PIN, quick to unlock
const SCRYPT_R = 8;
const SCRYPT_P = 1;
// A stored cost outside these bounds is refused rather than run (a tampered record
// must not make unlocking take hours or gigabytes).
const MIN_N = 2 ** 10;
const MAX_N = 2 ** 20;
const DEVICE_DB = "sopu-device";
const RECORD_ID = "_local/device";

/** The PIN (or passphrase) did not unlock the device key. */
export class WrongPinError extends Error {
  constructor(message = "the device key did not unlock with this PIN") {
    super(message);
    this.name = "WrongPinError";
    this.code = "wrong_passphrase";
  }
}

function kemOf(secret) {
  if (secret.length === 32) return X25519;
  if (secret.length === 96) return HYBRID;
  throw new CryptoError("envelope_malformed", "a device secret is 32 or 96 bytes");
}

async function pinKey(pin, salt, n) {
  if (!pin) throw new WrongPinError("an empty PIN protects nothing");
  // The async form yields to the page every few milliseconds: the screen stays
  // responsive (the spinner turns) while the memory-hard KDF runs.
  const raw = await scryptAsync(new TextEncoder().encode(pin), salt, {
    N: n, r: SCRYPT_R, p: SCRYPT_P, dkLen: 32, asyncTick: 10,
  });
  try {
    return await crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, [
      "encrypt", "decrypt",
    ]);
  } finally {
    raw.fill(0);
  }
}

/** The secret encrypted under `pin`, as a JSON-able object to store.
 *  `n` is the scrypt cost; only tests lower it. */
export async function wrapSecret(secret, pin, { n = SCRYPT_N } = {}) {
  const kem = kemOf(secret);
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const key = await pinKey(pin, salt, n);
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: AAD }, key, secret,
  );
  return {
    kem,
    kdf: { name: "scrypt", n, r: SCRYPT_R, p: SCRYPT_P, salt: b64encode(salt) },
    nonce: b64encode(nonce),
    ciphertext: b64encode(ciphertext),
  };
}

/** The secret of a wrapSecret() (or Python protect()) object; WrongPinError if the
 *  PIN is wrong, CryptoError envelope_malformed if the object is not one. */
export async function unwrapSecret(wrapped, pin) {
  const kdf = wrapped?.kdf ?? {};
  const n = kdf.n;
  if (
    kdf.name !== "scrypt" || kdf.r !== SCRYPT_R || kdf.p !== SCRYPT_P ||
    !Number.isInteger(n) || n < MIN_N || n > MAX_N || (n & (n - 1)) !== 0
  ) {
    throw new CryptoError("envelope_malformed", "the protected device key has unknown KDF");
  }
  const key = await pinKey(pin, b64decode(kdf.salt, "salt"), n);
  let secret;
  try {
    secret = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: b64decode(wrapped.nonce, "nonce"), additionalData: AAD },
      key,
      b64decode(wrapped.ciphertext, "ciphertext"),
    );
  } catch {
    throw new WrongPinError();
  }
  secret = new Uint8Array(secret);
  if (kemOf(secret) !== wrapped.kem) {
    throw new CryptoError("envelope_malformed", "the device key does not match its KEM");
  }
  return secret;
}

// ---------------------------------------------------------------- the enrolment record

function deviceDb() {
  return new PouchDB(DEVICE_DB, { auto_compaction: true });
}

/** Keep the enrolment record {server, workerId, username, deviceId, kem, wrapped,
 *  tokens: {access_token, refresh_token, expires_at}}; the secret only wrapped. */
// Saves run one after another, in the order they were asked for: two at once (new
// tokens and the colleagues' names) would race on the record's revision, and a lost
// token save makes the next refresh a reuse, which revokes every token of the device.
let saving = Promise.resolve();

export function saveDevice(record) {
  if (!record?.wrapped?.ciphertext || "secret" in record) {
    return Promise.reject(new Error("a device record keeps its secret only wrapped under the PIN"));
  }
  const run = saving.then(() => writeRecord(record));
  saving = run.catch(() => {});
  return run;
}

async function writeRecord(record) {
  const db = deviceDb();
  try {
    const old = await db.get(RECORD_ID).catch(() => null);
    const doc = { ...record, _id: RECORD_ID };
    if (old) doc._rev = old._rev;
    else delete doc._rev;
    await db.put(doc);
  } finally {
    await db.close();
  }
}

/** The enrolment record, or null when this browser holds no device. */
export async function loadDevice() {
  const db = deviceDb();
  try {
    const doc = await db.get(RECORD_ID);
    const { _id, _rev, ...record } = doc;
    return record;
  } catch (err) {
    if (err.status === 404) return null;
    throw err;
  } finally {
    await db.close();
  }
}

/** Delete the record (and its database) for good: a wipe or a new enrolment. */
export async function forgetDevice() {
  await deviceDb().destroy();
}
