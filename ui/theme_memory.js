// Streamlit keeps the theme chosen in its menu in localStorage under a key made of the path the tab was
// *loaded* at ("stActiveTheme-/groups-v2"): a reload on any other page forgets it. This copies the choice
// to every page's key, so a reload anywhere in the app keeps it (ui/theme_memory.py).
const PREFIX = "stActiveTheme-";
const SUFFIX = "-v2";

function loadPath() {
  // Streamlit reads window.location.pathname when its bundle loads: the document's own URL
  const nav = performance.getEntriesByType("navigation")[0];
  return nav && nav.name ? new URL(nav.name).pathname : window.location.pathname;
}

function pageKeys(path, pages) {
  const page = pages.find((p) => p && (path === "/" + p || path.endsWith("/" + p) || path.endsWith("/" + p + "/")));
  let base = page ? path.slice(0, path.lastIndexOf("/" + page) + 1) : path;
  if (!base.endsWith("/")) base += "/";
  const paths = new Set([path, base, ...pages.filter((p) => p).map((p) => base + p)]);
  if (base !== "/") paths.add(base.slice(0, -1));
  return Array.from(paths, (p) => PREFIX + p + SUFFIX);
}

function sync(state) {
  let chosen;
  try {
    chosen = window.localStorage.getItem(state.own);
  } catch (e) {
    return;  // no localStorage (private mode): Streamlit keeps nothing either
  }
  if (chosen === null || chosen === state.last) return;
  state.last = chosen;
  for (const k of pageKeys(state.path, state.pages)) if (k !== state.own) window.localStorage.setItem(k, chosen);
}

export default function (component) {
  const pages = (component.data && component.data.pages) || [];
  let state = window.__normvizThemeMemory;
  if (!state) {
    const path = loadPath();
    state = window.__normvizThemeMemory = { path, own: PREFIX + path + SUFFIX, last: null, pages };
    setInterval(() => sync(state), 500);  // a choice in the menu reaches every page's key within half a second
    window.addEventListener("pagehide", () => sync(state));
  }
  state.pages = pages;
  sync(state);
}
