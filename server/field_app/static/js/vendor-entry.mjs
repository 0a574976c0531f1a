// The field app's third-party code, bundled by scripts/build_app.sh (esbuild) into
// server/field_app/static/vendor/vendor.js: unmodified PouchDB for the browser, HPKE
// (RFC 9180) with its X25519 and X-Wing KEMs, and scrypt for the PIN. Nothing else is
// bundled; the app's own modules are served as they are.
export { default as PouchDB } from "pouchdb-browser";
export { Aes256Gcm, CipherSuite, HkdfSha256 } from "@hpke/core";
export { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";
export { XWing } from "@hpke/hybridkem-x-wing";
export { scryptAsync } from "@noble/hashes/scrypt.js";
