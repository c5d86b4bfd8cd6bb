// served by ui/startup.py: plotly.js of the python plotly package's version, with the app's trace types only.
// The browser fetches the gzipped file (served as it is: the server compresses nothing) and unpacks it itself;
// without DecompressionStream it loads the plain file (the server then gzips it on every request).
const PLOTLY_URL = new URL("component/ui.startup.plotly_js/plotly-normviz.min.js", window.location.href).href;

function plotlySource() {
  if (typeof DecompressionStream === "undefined") return Promise.resolve(PLOTLY_URL);
  return fetch(PLOTLY_URL + ".gz")
    .then((r) => {
      if (!r.ok) throw new Error(String(r.status));
      return new Response(r.body.pipeThrough(new DecompressionStream("gzip"))).blob();
    })
    .then((js) => URL.createObjectURL(new Blob([js], { type: "text/javascript" })))
    .catch(() => PLOTLY_URL);
}

function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__normvizPlotly) {
    window.__normvizPlotly = plotlySource().then((src) => new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => reject(new Error("could not load " + PLOTLY_URL));
      document.head.appendChild(s);
    }));
  }
  return window.__normvizPlotly;
}

function nextFrame(value) {
  return new Promise((r) => requestAnimationFrame(() => setTimeout(() => r(value), 0)));
}

function themeColors() {
  const app = document.querySelector(".stApp") || document.body;
  const bg = getComputedStyle(app).backgroundColor || "rgb(255,255,255)";
  const rgb = (bg.match(/\d+(\.\d+)?/g) || [255, 255, 255]).slice(0, 3).map(Number);
  const lum = (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255;
  return lum < 0.5
    ? { dark: true, text: "#FAFAFA", bg: "#262730", grid: "#464955", zero: "#7b7e8a" }
    : { dark: false, text: "#31333F", bg: "#FFFFFF", grid: "#d9d9de", zero: "#a3a3ad" };
}

// Cividis (every continuous colour of the app) starts at a navy with a contrast of 1.2:1 on the dark theme's
// background: points of the lowest values vanish there. On the dark theme points take Cividis from 0.35 to 1
// instead (3:1 at its low end): plotly.colors.sample_colorscale("Cividis", 0.35 + 0.65 * k / 8), k = 0 … 8
// (tests/ui/test_plot_view_colours.py checks these against plotly). Their colour bar shows the same colours.
const CIVIDIS_LOW = "#00224e";
const CIVIDIS_ON_DARK = [
  [0, "#5b606e"], [0.125, "#6d6f72"], [0.25, "#807e76"], [0.375, "#938e77"], [0.5, "#a79e73"],
  [0.625, "#bdaf6b"], [0.75, "#d3c05e"], [0.875, "#e9d44d"], [1, "#fee838"],
];

function themedPoints(data, colors) {
  // the traces to draw: on the dark theme, markers coloured by Cividis take its lighter part (new objects:
  // the spec is a live control's base figure or frame, drawn again later)
  if (!colors.dark) return data;
  return (data || []).map((t) => {
    const scale = t.marker && t.marker.colorscale;
    if (!Array.isArray(scale) || !scale.length || String(scale[0][1]).toLowerCase() !== CIVIDIS_LOW) return t;
    return Object.assign({}, t, { marker: Object.assign({}, t.marker, { colorscale: CIVIDIS_ON_DARK }) });
  });
}

function opaqueSceneGrids(layout, colors) {
  // WebGL scenes draw no grid for an rgba() gridcolor: give each 3D axis the theme's opaque grey (on copies:
  // the spec is a live control's base figure or frame, drawn again later)
  for (const s of Object.keys(layout).filter((k) => /^scene\d*$/.test(k))) {
    const scene = (layout[s] = Object.assign({}, layout[s]));
    for (const ax of ["xaxis", "yaxis", "zaxis"]) {
      const a = (scene[ax] = Object.assign({}, scene[ax]));
      if (!a.gridcolor || a.gridcolor.startsWith("rgba")) a.gridcolor = colors.grid;
      if (!a.zerolinecolor || a.zerolinecolor.startsWith("rgba")) a.zerolinecolor = colors.zero;
    }
  }
}

function linkCameras(root) {
  if (root.__normvizLinked) return;
  root.__normvizLinked = true;
  root.on("plotly_relayout", (ev) => {
    if (root.__normvizSyncing || !(root.layout.meta && root.layout.meta.link_cameras)) return;
    const scenes = Object.keys(root.layout).filter((k) => /^scene\d*$/.test(k));
    const src = Object.keys(ev).find((k) => /^scene\d*\.camera$/.test(k));
    if (!src) return;
    const cam = ev[src];
    root.__normvizCamera = cam;  // reapplied to every scene on the next update (see below)
    const upd = {};
    for (const s of scenes) if (s + ".camera" !== src) upd[s + ".camera"] = cam;
    root.__normvizSyncing = true;
    window.Plotly.relayout(root, upd).finally(() => { root.__normvizSyncing = false; });
  });
}

function is3d(layout) {
  return Object.keys(layout).some((k) => /^scene\d*$/.test(k));
}

function followWidth(frame, root) {
  // the figure fills its column and follows it (sidebar collapsed, window resized): plotly's own
  // `responsive` listens to the window only. A 3D view is drawn again, so its cameras fit the new width.
  let width = frame.clientWidth, timer = null;
  new ResizeObserver(() => {
    if (frame.clientWidth === width) return;
    width = frame.clientWidth;
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!root._fullLayout) return;
      const redrawn = root.__normvizDraw && is3d(root._fullLayout) ? root.__normvizDraw() : Promise.resolve();
      redrawn.then(() => window.Plotly.Plots.resize(root));  // react keeps the old width: resize takes the new
    }, 100);
  }).observe(frame);
}

const DEFAULT_EYE = { x: 1.25, y: 1.25, z: 1.25 };  // plotly's own first camera
const FIT_ASPECT = 1.45;  // a scene narrower than this (width / height) is seen from further away
const MIN_ASPECT = 1.2;  // and no scene is drawn narrower than this: the figure gets shorter instead (the box keeps
// its size, since it is fitted to the width; below 1.2 the room above and below it was empty: a third of the scene)
const MIN_HEIGHT = 320;

function sceneBoxes(layout, width, bars) {
  // each scene's size in pixels: the plot area (less ~70 px that plotly takes for a colour bar) × its domain
  const m = layout.margin || {};
  const plotW = width - (m.l ?? 80) - (m.r ?? 80) - (bars ? 70 : 0);
  const plotH = (layout.height || 450) - (m.t ?? 100) - (m.b ?? 80);
  return Object.keys(layout).filter((k) => /^scene\d*$/.test(k)).map((s) => {
    const dom = layout[s].domain || {}, [x0, x1] = dom.x || [0, 1], [y0, y1] = dom.y || [0, 1];
    return { s, w: plotW * (x1 - x0), h: plotH * (y1 - y0), dy: y1 - y0 };
  });
}

function fitScenes(layout, width, data) {
  // plotly draws a 3D scene with a fixed vertical field of view: a scene narrower than it is tall (two
  // scenes side by side in a 660 px column at 125% zoom) loses its sides first, axis titles and ticks.
  // A too narrow scene makes the figure shorter, then each first camera moves back by FIT_ASPECT / aspect
  // so the box and its labels stay inside the scene's domain (a camera the user turned stays theirs).
  const bars = (data || []).some((t) => t.showscale || (t.marker && t.marker.showscale));
  let boxes = sceneBoxes(layout, width, bars);
  const narrowest = boxes.reduce((a, b) => (b.w / b.h < a.w / a.h ? b : a), boxes[0]);
  if (narrowest && narrowest.w / narrowest.h < MIN_ASPECT) {
    const cut = narrowest.h - narrowest.w / MIN_ASPECT;  // pixels of that scene's height to lose
    layout.height = Math.max(MIN_HEIGHT, Math.round((layout.height || 450) - cut / narrowest.dy));
    boxes = sceneBoxes(layout, width, bars);
  }
  for (const { s, w, h } of boxes) {
    const k = FIT_ASPECT / (w / Math.max(1, h));
    if (!(k > 1)) continue;
    layout[s] = Object.assign({}, layout[s]);  // a copy: the same spec is drawn again (a live frame)
    const cam = (layout[s].camera = Object.assign({}, layout[s].camera || {}));
    const eye = cam.eye || DEFAULT_EYE;
    cam.eye = { x: eye.x * k, y: eye.y * k, z: eye.z * k };
  }
}

function isFull(frame) {
  return document.fullscreenElement === frame;
}

function fullscreenButton(frame, root) {
  // a 3D view fills the screen (the projector) and back; the frame holds the plot and this button
  const b = document.createElement("button");
  b.className = "normviz-fullscreen";
  b.type = "button";
  b.title = "Full screen (Esc to leave)";
  b.setAttribute("aria-label", "Full screen");
  // four corners (no font has a reliable fullscreen glyph)
  b.innerHTML = '<svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" stroke-width="2" '
    + 'stroke-linecap="round"><path d="M4 9V4h5M15 4h5v5M20 15v5h-5M9 20H4v-5"/></svg>';
  Object.assign(b.style, {
    position: "absolute", right: "6px", bottom: "6px", zIndex: 10, width: "2.2em", height: "2.2em",
    padding: 0, border: "1px solid rgba(128,128,128,0.5)", borderRadius: "6px", cursor: "pointer",
    background: "rgba(128,128,128,0.15)", color: "inherit", display: "flex", alignItems: "center",
    justifyContent: "center",
  });
  b.addEventListener("click", () => {
    if (isFull(frame)) document.exitFullscreen();
    else frame.requestFullscreen().catch(() => {});
  });
  frame.appendChild(b);
  frame.addEventListener("fullscreenchange", () => {
    const full = isFull(frame);
    frame.style.background = full ? themeColors().bg : "";
    const height = full ? window.innerHeight : root.__normvizHeight;
    root.style.height = height + "px";
    if (root._fullLayout) window.Plotly.relayout(root, { height }).then(() => window.Plotly.Plots.resize(root));
  });
  return b;
}

// A browser without the graphics card's help draws WebGL in software (Chrome's SwiftShader, Mesa's llvmpipe): a 3D
// view's redraw then took 60-450 ms on a 2-core machine (benchmarks/bench_live.py's redraw from memory), most of it
// waiting on the software rasterizer. Such a view says so, with what to do, so a lecturer knows why and where to look.
const SOFTWARE_GL = /swiftshader|llvmpipe|softpipe|software|basic render/i;

function glRenderer(root) {
  // the renderer of the view's first 3D scene (no extra context): its unmasked name where the browser gives it
  const scene = root._fullLayout && root._fullLayout.scene && root._fullLayout.scene._scene;
  const gl = scene && scene.glplot && scene.glplot.gl;
  if (!gl) return null;
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  return String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) || "");
}

const NOTE_HIDDEN = "normviz-software-note-hidden";  // sessionStorage: the lecturer hid the label in this tab

function noteHidden() {
  try {
    return window.sessionStorage.getItem(NOTE_HIDDEN) === "1";
  } catch (e) {  // storage refused (a privacy setting): the label shows, and a click still hides it on this page
    return !!window.__normvizNoteHidden;
  }
}

function hideNotes() {
  window.__normvizNoteHidden = true;
  try {
    window.sessionStorage.setItem(NOTE_HIDDEN, "1");
  } catch (e) { /* kept for this page only */ }
  for (const n of document.querySelectorAll(".normviz-software")) n.style.display = "none";
}

function softwareNoteButton(renderer) {
  const note = document.createElement("button");
  note.type = "button";
  note.className = "normviz-software";
  Object.assign(note.style, {  // its own line under the plot: a legend or colour bar along the bottom stays clear
    display: "block", margin: "0.25rem 0 0 6px", padding: "0.1em 0.5em", fontSize: "0.8rem",
    border: "1px solid rgba(128,128,128,0.5)", borderRadius: "6px", background: "rgba(128,128,128,0.15)",
    color: "inherit", fontFamily: "inherit", lineHeight: 1.4, opacity: 0.8, cursor: "pointer",
  });
  note.textContent = "Software 3D: slow redraws";
  const why = "This browser draws 3D without the graphics card (software WebGL: " + renderer + "), so every "
    + "redraw of a 3D view waits on the processor. Turning on hardware acceleration in the browser's settings "
    + "(Chrome: Settings > System) and reloading makes 3D views redraw faster. Click to hide this note.";
  note.title = why;
  note.setAttribute("aria-label", why);
  note.addEventListener("click", hideNotes);
  return note;
}

function softwareNote(frame, root) {
  // a small label on a line of its own under the view, at its left (the fullscreen button holds the right), its
  // tooltip the why; a click hides it on every view of this tab (a lecturer projecting from a machine without a GPU)
  const note = frame.querySelector(".normviz-software");
  if (!is3d(root._fullLayout || {})) {  // a 2D figure has no renderer to ask
    root.dataset.glRenderer = "";
    if (note) note.style.display = "none";
    return;
  }
  // asked once per view: a live control's frames draw again and again
  if (!root.__normvizRenderer) root.__normvizRenderer = glRenderer(root);
  const renderer = root.__normvizRenderer;
  root.dataset.glRenderer = renderer || "";
  const show = !!renderer && SOFTWARE_GL.test(renderer) && !noteHidden();
  if (show && !note) frame.appendChild(softwareNoteButton(renderer));
  else if (note) note.style.display = show ? "" : "none";
}

function draw(root, spec, data) {
  // one path for every drawing of a view: a figure from Python, a live control's frame (ui/live.js), and
  // again when the theme changes (watchTheme) or the column's width does (followWidth): the figure in the
  // theme's colours, cameras fitted to the column's width
  const Plotly = window.Plotly;
  const frame = root.parentElement;
  const colors = themeColors();
  root.__normvizTheme = colors.text;
  const layout = Object.assign({}, spec.layout || {});
  layout.font = Object.assign({ color: colors.text }, layout.font || {});
  layout.hoverlabel = Object.assign({ bgcolor: colors.bg, font: { color: colors.text } }, layout.hoverlabel || {});
  opaqueSceneGrids(layout, colors);
  fitScenes(layout, frame.clientWidth || 700, spec.data);
  if (layout.meta && layout.meta.link_cameras && root.__normvizCamera) {
    // Plotly.react keeps the camera of the scene the user dragged (uirevision) but not of the scenes
    // we turned with Plotly.relayout: hand every scene the shared camera so they stay linked
    for (const s of Object.keys(layout).filter((k) => /^scene\d*$/.test(k))) {
      layout[s] = Object.assign({}, layout[s], { camera: JSON.parse(JSON.stringify(root.__normvizCamera)) });
    }
  }
  root.__normvizHeight = layout.height || 450;
  if (isFull(frame)) layout.height = window.innerHeight;
  root.style.height = (layout.height || 450) + "px";
  let button = frame.querySelector(".normviz-fullscreen");
  if (is3d(layout) && !button) button = fullscreenButton(frame, root);
  if (button) button.style.display = is3d(layout) ? "flex" : "none";
  // presentation mode: no toolbar over the titles (the camera still turns, zooms and pans)
  // 3D scenes at the screen's own pixel ratio: plotly's default (2, meant for image export) draws 4× the pixels a
  // 1× screen shows, which a software-WebGL browser pays on every redraw (Cube's redraw: 560 → 300 ms, measured)
  const config = {
    responsive: true, displaylogo: false, displayModeBar: data.present ? false : "hover",
    plotGlPixelRatio: Math.max(1, window.devicePixelRatio || 1),
  };
  return Plotly.react(root, themedPoints(spec.data, colors), layout, config).then(() => {
    linkCameras(root);
    softwareNote(frame, root);
  });
}

function liveView(root, spec, data) {
  // the view of a live control: the slider (ui/live.js) calls window.__normvizLive[view](i) while it
  // moves, and frame i of the frames that belong to this figure is drawn in place
  const view = data.live.view;
  root.dataset.live = view;
  root.__normvizBase = { spec, data, frames: data.live.frames };
  root.__normvizWant = null;
  delete root.dataset.frame;
  const lives = (window.__normvizLive = window.__normvizLive || {});
  const show = (i, control) => showFrame(root, i, control);
  show.has = (control) => {
    const store = (window.__normvizFrames || {})[view];
    return !!store && store.control === control && store.id === root.__normvizBase.frames;
  };
  // a new figure may come without frames (another control moved): a press asks again
  show.asked = data.live.over || null;
  lives[view] = show;
}

function catchUp(root, live) {
  // the figure from Python is the frame of the value it ran with; if the slider has moved on since (keys
  // pressed while the page reran), show the slider's frame, so a late rerun never draws over it
  if (live.index === null || live.index === undefined) return;
  root.dataset.frame = String(live.index);
  const box = (window.__normvizSliders || {})[live.control];
  const i = box ? Number(box.__parts.input.value) : live.index;
  if (i !== live.index) showFrame(root, i, live.control);
}

function setPaths(obj, paths) {
  // obj with each dotted path of a live frame (ui.live.frames: "scene2.xaxis.range") set to its value, null
  // removing it; objects along a path are copied, the rest shared, so every scene and axis object the frame
  // does not touch stays the drawn figure's and Plotly.react updates only what differs
  const out = Object.assign({}, obj);
  for (const [path, value] of Object.entries(paths)) {
    const keys = path.split(".");
    let o = out;
    for (const k of keys.slice(0, -1)) o = o[k] = Object.assign({}, o[k]);
    const last = keys[keys.length - 1];
    if (value === null) delete o[last];
    else o[last] = value;
  }
  return out;
}

function showFrame(root, i, control) {
  const base = root.__normvizBase;
  const store = (window.__normvizFrames || {})[root.dataset.live];
  if (!base || !store || store.id !== base.frames || store.control !== control) return false;
  if (!store.frames[i] || !root._fullLayout) return false;
  root.__normvizWant = i;
  if (root.__normvizBusy) return true;  // the latest wanted frame is drawn when this draw ends
  const step = () => {
    const j = root.__normvizWant;
    root.__normvizWant = null;
    const f = store.frames[j];
    const t0 = performance.now();
    const spec = f.f ? {  // a whole figure (it keeps the view's own meta: linked cameras), or what changes
      data: f.f.data, layout: Object.assign({}, f.f.layout, { meta: base.spec.layout.meta }),
    } : {
      data: base.spec.data.map((t, k) => (f.t[k] ? setPaths(t, f.t[k]) : t)),
      layout: setPaths(base.spec.layout, f.l),
    };
    root.__normvizDraw = () => draw(root, spec, base.data);  // a theme or width change redraws this frame
    root.__normvizBusy = draw(root, spec, base.data).then(() => {
      root.dataset.frame = String(j);
      root.dataset.frameMs = String(Math.round(performance.now() - t0));
      root.dataset.frameAt = String(performance.now());
    }).catch((err) => {
      root.dataset.error = String(err.message);
    }).finally(() => {
      root.__normvizBusy = null;
      if (root.__normvizWant !== null && root.__normvizBase === base) step();
    });
  };
  step();
  return true;
}

function watchTheme() {
  // Streamlit's menu switches the theme without a rerun: draw every view again in the new colours
  if (window.__normvizThemeWatch) return;
  window.__normvizThemeWatch = setInterval(() => {
    const text = themeColors().text;
    for (const root of document.querySelectorAll(".normviz-plot")) {
      if (root.__normvizDraw && root._fullLayout && root.__normvizTheme !== text) root.__normvizDraw();
    }
  }, 400);
}

export default function (component) {
  const { data, parentElement } = component;
  if (data && data.preload) {  // ui.plot_view.preload: fetch plotly.js while the page is still computing
    loadPlotly();
    return;
  }
  let root = parentElement.querySelector(".normviz-plot");
  if (!root) {
    const frame = document.createElement("div");
    frame.className = "normviz-frame";
    frame.style.position = "relative";
    frame.style.width = "100%";
    root = document.createElement("div");
    root.className = "normviz-plot";
    root.style.width = "100%";
    frame.appendChild(root);
    parentElement.appendChild(frame);
    followWidth(frame, root);
  }
  const frame = root.parentElement;
  watchTheme();
  if (!data || !data.figure) return;
  if (root.__normvizLast === data.figure) {  // same figure as drawn: nothing to redo
    root.dataset.revision = data.revision;
    if (data.live && root.__normvizBase) {
      root.__normvizBase.frames = data.live.frames;
      catchUp(root, data.live);
    }
    return;
  }
  root.__normvizLast = data.figure;
  const t0 = performance.now();
  root.dataset.receivedAt = String(t0);
  // secondary charts wait one task, so the 3D view (drawn first) is not held up behind them
  // (they wait for the main view's latest draw, then for the next frame)
  const main = window.__normvizMainDraw || Promise.resolve();
  const ready = data.defer
    ? loadPlotly().then((P) => main.then(() => nextFrame(P)))
    : loadPlotly();
  root.__normvizDraw = () => draw(root, JSON.parse(data.figure), data);
  const drawn = ready.then(() => draw(root, JSON.parse(data.figure), data)).then(() => {
    root.dataset.revision = data.revision;
    root.dataset.drawMs = String(Math.round(performance.now() - t0));
    root.dataset.drawnAt = String(performance.now());
    if (data.live) catchUp(root, data.live);
  }).catch((err) => {
    root.textContent = "The 3D view could not be drawn: " + err.message;
    root.dataset.error = String(err.message);
  });
  if (data.live) liveView(root, JSON.parse(data.figure), data);
  if (!data.defer) window.__normvizMainDraw = drawn.catch(() => {});
}
