// The vendor bundle is built for the browser (esbuild --platform=browser): PouchDB's
// browser build reads `self` when it loads. Node 20 has everything else the crypto
// code uses (WebCrypto with X25519, atob/btoa, TextEncoder), so naming the global
// object `self` is enough to import the very bundle the app serves.
globalThis.self ??= globalThis;
