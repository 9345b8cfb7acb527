// The service worker: keeps the app shell (the page and this build's files) so that the client
// opens without the network, showing its offline banner, and can be installed as an app. The
// server serves this file at /sw.js with BUILD and SHELL filled in (web/client.py), so each
// build installs anew and drops the cache of the one before. The API is never cached.

const BUILD = "__BUILD__";
const SHELL = ["__SHELL__"];
const CACHE = `hubbub-shell-${BUILD}`;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("hubbub-shell-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === "/") {
    // The page: fresh from the network when there is one (it names the current build), else
    // the cached one.
    event.respondWith(
      fetch(request).catch(() => caches.open(CACHE).then((cache) => cache.match("/")).then((r) => r || Response.error())),
    );
  } else if (url.pathname.startsWith(`/app/${BUILD}/`)) {
    // This build's files never change: from the cache, else the network.
    event.respondWith(caches.open(CACHE).then((cache) => cache.match(request)).then((r) => r || fetch(request)));
  }
});
