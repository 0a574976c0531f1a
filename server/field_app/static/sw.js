// The field app's service worker (served by server/field_app/blueprint.py at /app/sw.js,
// which writes in VERSION and ASSETS). It precaches the app at install and answers its
// files cache first, so the app opens with no network after the first visit. Client
// data never goes through a cache: /api/ and /sync/ are not touched at all (the
// browser fetches them as if there were no worker), and the only things cached are
// the app's own static files listed in ASSETS.
const VERSION = "__SOPU_VERSION__";
const ASSETS = ["__SOPU_ASSETS__"];
const CACHE = `sopu-field-app-${VERSION}`;
const NEVER = ["/api/", "/sync/"];

self.addEventListener("install", (event) => {
  // `reload`: fetch past the HTTP cache, so a new version never stores an old file.
  const requests = ASSETS.map((url) => new Request(url, { cache: "reload" }));
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(requests)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("sopu-field-app-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (NEVER.some((prefix) => url.pathname.startsWith(prefix))) return;
  const key = url.pathname === "/app" || url.pathname === "/app/index.html" ? "/app/" : url.pathname;
  if (!ASSETS.includes(key)) return;
  event.respondWith(cacheFirst(key, event.request));
});

async function cacheFirst(key, request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(key, { ignoreSearch: true });
  if (hit) return hit;
  const answer = await fetch(request);
  if (answer.ok) await cache.put(key, answer.clone());
  return answer;
}
