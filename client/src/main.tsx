/**
 * The app shell: picks the view for the page's path and loads only that view's code.
 *
 *   /            start: create an event, or join one with its code
 *   /j/{code}    a participant's phone
 *   /o/{code}    an observer (read-only)
 *   /p/{code}    the projector (big screen, no controls)
 *   /f/{event}   the facilitator console (#key=… in the fragment on first visit)
 */
import { render } from "preact";
import "./styles.css";

type Params = Record<string, string>;
type Loader = () => Promise<{ default: (props: { params: Params }) => preact.JSX.Element }>;

const routes: [RegExp, string[], Loader][] = [
  [/^\/j\/([^/]+)\/?$/, ["code"], () => import("./views/participant")],
  [/^\/o\/([^/]+)\/?$/, ["code"], () => import("./views/observer")],
  [/^\/p\/([^/]+)\/?$/, ["code"], () => import("./views/projector")],
  [/^\/f\/([^/]+)\/?$/, ["event"], () => import("./views/facilitator")],
  [/^\/?$/, [], () => import("./views/home")],
];

async function start(): Promise<void> {
  const root = document.getElementById("app");
  if (!root) return;
  const path = window.location.pathname;
  for (const [pattern, names, load] of routes) {
    const match = pattern.exec(path);
    if (!match) continue;
    const params: Params = {};
    names.forEach((name, i) => {
      params[name] = decodeURIComponent(match[i + 1] ?? "");
    });
    const { default: View } = await load();
    root.textContent = "";
    render(<View params={params} />, root);
    return;
  }
  root.innerHTML = '<main class="page"><h1>Not found</h1><p><a href="/">Start page</a></p></main>';
}

// The app shell stays on the phone (public/sw.js), so a reload while the venue's wifi is
// down still opens. Browsers allow service workers on https and on localhost only; on a
// plain-http LAN address the app works as before, without the offline reload.
if ("serviceWorker" in navigator && window.isSecureContext) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js").catch(() => undefined);
    // What this page loaded before the worker took over is cached too, or the first
    // offline reload would find the shell but not its scripts.
    void navigator.serviceWorker.ready.then((registration) => {
      const loaded = performance
        .getEntriesByType("resource")
        .map((entry) => entry.name)
        .filter((url) => new URL(url).pathname.startsWith("/assets/"));
      registration.active?.postMessage({ cache: loaded });
    });
  });
}

void start();
