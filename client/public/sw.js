/* Plenary's service worker: keeps the app shell on the phone, so that a page reloaded
   on a venue's wifi while it is down still opens, shows what the phone last knew and its
   unsent writes, and reconnects by itself when the network is back.

   - Hashed build assets (/assets/…) never change: served from the cache once fetched.
   - Pages (every route serves the same index.html): the network first, so a new build
     is picked up at once; the cached shell when the network is down.
   - The API and the websocket are never cached: they are live by nature, and the app's
     own queue and stored state cover being offline. */
const CACHE = "plenary-shell-v1";
const SHELL = "/index.html";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.add(new Request("/", { cache: "reload" })).catch(() => undefined))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

async function fromNetworkThenShell(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(SHELL, response.clone());
    return response;
  } catch (error) {
    const shell = (await cache.match(SHELL)) || (await cache.match("/"));
    if (shell) return shell;
    throw error;
  }
}

async function fromCacheThenNetwork(request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

// The page sends the assets it loaded before this worker controlled it.
self.addEventListener("message", (event) => {
  const urls = event.data && Array.isArray(event.data.cache) ? event.data.cache : [];
  const ours = urls.filter((u) => {
    try {
      const url = new URL(u);
      return url.origin === self.location.origin && url.pathname.startsWith("/assets/");
    } catch {
      return false;
    }
  });
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(ours)).catch(() => undefined));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname === "/ws") return;
  if (url.pathname.startsWith("/assets/")) {
    event.respondWith(fromCacheThenNetwork(request));
  } else if (request.mode === "navigate") {
    event.respondWith(fromNetworkThenShell(request));
  }
});
