// A live control (ui/live.py): a real <input type="range"> whose moves redraw its 3D view at once,
// from frames the page sent once; the value goes back to Python on release (one rerun).
// The same component, with role "frames", only hands a view its frames (window.__normvizFrames).

function framesElement(data, parentElement) {
  // this element draws nothing: hide its container, so the page has no gap for it
  const holder = parentElement.closest("[data-testid='stElementContainer']");
  if (holder) holder.style.display = "none";
  const store = (window.__normvizFrames = window.__normvizFrames || {});
  if (!store[data.view] || store[data.view].id !== data.id) {
    store[data.view] = { id: data.id, control: data.control, frames: JSON.parse(data.frames) };
  }
}

function build(parentElement) {
  const box = document.createElement("div");
  box.className = "normviz-live";
  Object.assign(box.style, { display: "flex", flexDirection: "column", gap: "0.1rem", width: "100%" });
  const head = document.createElement("div");
  Object.assign(head.style, { display: "flex", alignItems: "center", gap: "0.3rem", fontSize: "0.875rem", minHeight: "1.5rem" });
  const label = document.createElement("label");
  const help = document.createElement("span");
  help.className = "normviz-live-help";
  help.textContent = "?";
  help.setAttribute("aria-hidden", "true");
  Object.assign(help.style, {
    display: "inline-flex", alignItems: "center", justifyContent: "center", width: "1.05em", height: "1.05em",
    border: "1px solid currentColor", borderRadius: "50%", fontSize: "0.7rem", opacity: 0.6, cursor: "help",
  });
  const value = document.createElement("output");
  Object.assign(value.style, { marginLeft: "auto", fontVariantNumeric: "tabular-nums", color: "var(--st-primary-color, #ff4b4b)" });
  head.append(label, help, value);
  const input = document.createElement("input");
  input.type = "range";
  input.min = "0";
  input.step = "1";
  input.id = "normviz-live-" + Math.random().toString(36).slice(2);
  label.htmlFor = input.id;
  value.htmlFor = input.id;
  Object.assign(input.style, { width: "100%", margin: "0.35rem 0 0", accentColor: "var(--st-primary-color, #ff4b4b)", cursor: "pointer" });
  const ends = document.createElement("div");
  Object.assign(ends.style, { display: "flex", justifyContent: "space-between", fontSize: "0.75rem", opacity: 0.6 });
  const lo = document.createElement("span"), hi = document.createElement("span");
  ends.append(lo, hi);
  box.append(head, input, ends);
  parentElement.appendChild(box);
  box.__parts = { label, help, value, input, lo, hi };
  box.__left = [];  // values the user moved on from since Python last showed theirs (sliderElement)
  wire(box);
  return box;
}

function wire(box) {
  const { input, value } = box.__parts;
  let lastKey = 0;
  const show = () => {
    input.dataset.inputAt = String(performance.now());  // benchmarks/bench_live.py: input -> frame drawn
    const i = Number(input.value);
    if (box.__shown !== i) box.__left.push(box.__shown);  // moved on from it
    box.__shown = i;
    const text = box.__labels[i];
    value.textContent = text;
    input.setAttribute("aria-valuetext", text);
    const live = (window.__normvizLive || {})[box.__view];
    if (live) live(i, box.__key);
  };
  const ask = () => {
    // no frames for this slider in its view yet: ask Python for them (once per drawn figure)
    const live = (window.__normvizLive || {})[box.__view];
    if (!live || live.has(box.__key) || live.asked === box.__key || box.__disabled) return;
    live.asked = box.__key;
    box.__trigger("want", true);
  };
  input.addEventListener("pointerdown", ask);
  input.addEventListener("focus", ask);
  input.addEventListener("input", show);
  input.addEventListener("keydown", () => { lastKey = performance.now(); });
  input.addEventListener("pointerdown", () => { box.__dragging = true; });
  window.addEventListener("pointerup", () => { box.__dragging = false; });
  window.addEventListener("pointercancel", () => { box.__dragging = false; });
  input.addEventListener("change", () => {
    // a release sends at once; key presses wait for a pause, so holding an arrow reruns once
    clearTimeout(box.__timer);
    box.__timer = null;
    const i = Number(input.value);
    const send = () => { box.__timer = null; box.__sent = i; box.__send("value", i); };
    if (performance.now() - lastKey < 100) box.__timer = setTimeout(send, 250);
    else send();
  });
}

function sliderElement(component) {
  const { data, parentElement, setStateValue } = component;
  const box = parentElement.querySelector(".normviz-live") || build(parentElement);
  const { label, help, value, input, lo, hi } = box.__parts;
  (window.__normvizSliders = window.__normvizSliders || {})[data.key] = box;  // its view reads where it is
  box.__send = setStateValue;
  box.__trigger = component.setTriggerValue;
  box.__key = data.key;
  box.__disabled = !!data.disabled;
  box.__view = data.view;
  box.__labels = data.labels;
  label.textContent = data.label;
  input.setAttribute("aria-label", data.label);
  input.title = data.help;
  help.title = data.help;
  input.setAttribute("aria-description", data.help);
  input.max = String(data.labels.length - 1);
  input.disabled = !!data.disabled;
  box.style.opacity = data.disabled ? "0.45" : "1";
  input.style.cursor = data.disabled ? "not-allowed" : "pointer";
  lo.textContent = data.labels[0];
  hi.textContent = data.labels[data.labels.length - 1];
  // Python's index, unless it is one the user has moved on from since Python last showed theirs: a rerun that
  // started before their last move (a key press is sent after a 250 ms pause; the next key pressed while that
  // rerun ran) brings back an older value, and setting it threw the slider back a step under their hand (the next
  // key then went one too far). While held or about to send, the slider is theirs; any other index is Python's
  // own (a lesson step, a link, another control's new range).
  const at = Number(input.value);
  if (box.__dragging || box.__timer != null) {
    // theirs
  } else if (data.index === at) {
    box.__left = [];  // Python has caught up
  } else if (!box.__left.includes(data.index)) {
    input.value = String(data.index);
    box.__left = [];
  }
  box.__shown = Number(input.value);
  const text = data.labels[Number(input.value)];
  value.textContent = text;
  input.setAttribute("aria-valuetext", text);
}

export default function (component) {
  const { data } = component;
  if (!data) return;
  if (data.role === "frames") framesElement(data, component.parentElement);
  else sliderElement(component);
}
