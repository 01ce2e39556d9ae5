// gankit view: the page. It draws what the server's session sends (frames as binary
// messages, events as JSON) and sends the person's commands back; it trains nothing itself.
"use strict";

const SETTINGS = ["dataset", "loss", "lr_g", "lr_d", "n_critic", "g_hidden", "g_depth",
  "d_hidden", "d_depth", "latent_dim", "batch_size", "seed"];
const SPEEDS = [1, 2, 3, 4, 5, 10, 20, 50, 100];
const MAX_CURVE = 4000; // points kept per curve; older ones are thinned
const COLOURS = ["#7b2fbe", "#1b7f3b", "#2c6fbb", "#c0392b", "#b7950b", "#555"];

const $ = (id) => document.getElementById(id);

// What the tests (and a curious person in the console) can read.
const view = {
  step: 0, frames: 0, shown: 0, generation: 0, playing: false, settings: null, box: null,
  real: [], frame: null, metrics: null, drawn: [], curves: {}, errors: [], limits: {},
  drawing: false,
};
window.gankitView = view;

// ------------------------------------------------------------------ connection
let socket = null;
let rateClock = { time: performance.now(), frames: 0, step: 0 };

function connect() {
  socket = new WebSocket(`ws://${location.host}/ws`);
  socket.binaryType = "arraybuffer";
  socket.onopen = () => setBadge("live", "connected");
  socket.onclose = () => setBadge("lost", "disconnected: restart gankit view and reload");
  socket.onmessage = (event) => {
    if (event.data instanceof ArrayBuffer) onFrame(decodeFrame(event.data));
    else onEvent(JSON.parse(event.data));
  };
}

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function setBadge(kind, text) {
  const badge = $("connection");
  badge.className = `badge ${kind}`;
  badge.textContent = text;
}

// A frame: uint32 header length, JSON header, float32 arrays (gankit.view.frames.encode).
function decodeFrame(buffer) {
  const length = new DataView(buffer).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, length)));
  let offset = 4 + length;
  const arrays = {};
  for (const [name, shape] of header.arrays) {
    const count = shape.reduce((a, b) => a * b, 1);
    arrays[name] = new Float32Array(buffer, offset, count);
    offset += 4 * count;
  }
  return { header, arrays };
}

// ------------------------------------------------------------------ events
function onEvent(event) {
  switch (event.type) {
    case "hello": return onHello(event);
    case "ready": return onReady(event);
    case "status": return onStatus(event);
    case "metrics": return onMetrics(event);
    case "defaults": return fillSettings(event.settings);
    case "saved":
      fillRuns(event.runs);
      return note(`saved step ${event.step} to ${event.path}`);
    case "runs": return fillRuns(event.runs);
    case "error": return error(event.message);
    default: return error(`unknown event ${event.type}`);
  }
}

function onHello(event) {
  view.limits = event.limits;
  fillSelect($("dataset"), event.datasets);
  fillSelect($("loss"), event.losses, (name) => (name === "config" ? "the config's own" : name));
  fillSelect($("speed"), SPEEDS, (k) => `${k} step${k > 1 ? "s" : ""} a frame`);
  $("speed").value = String(event.steps_per_frame);
  fillRuns(event.runs);
}

function onReady(event) {
  view.generation = event.generation;
  view.settings = event.settings;
  view.box = event.box;
  view.real = event.real;
  view.step = event.step;
  view.frame = null;
  view.metrics = null;
  view.curves = {};
  fillSettings(event.settings);
  setDrawing(event.settings.dataset === "drawn" && view.drawn.length === 0);
  note(`${event.recipe} with ${event.recipe === "gan" ? event.loss_name + " loss" : "its own loss"}` +
       `, latent dim ${event.latent_dim}: ready`);
  render();
}

function onStatus(event) {
  if (event.generation !== view.generation) return;
  view.playing = event.playing;
  view.step = Math.max(view.step, event.step);
  $("play").textContent = event.playing ? "Pause" : "Play";
  $("counter").textContent = `step ${view.step}`;
}

function onFrame(frame) {
  const h = frame.header;
  if (h.generation !== view.generation) return; // a frame of the run before a reset
  view.frame = frame;
  view.frames += 1;
  view.step = h.step;
  for (const [name, value] of Object.entries(h.losses)) addPoint("losses", name, h.step, value);
  scheduleRender();
}

function onMetrics(event) {
  if (event.generation !== view.generation) return;
  view.metrics = event;
  if (event.w1 !== undefined) addPoint("w1", "W1", event.step, event.w1);
  if (event.modes !== undefined) {
    addPoint("modes", `modes of ${event.n_modes}`, event.step, event.modes);
    addPoint("hq", "high quality %", event.step, event.high_quality);
    if (event.reverse_kl !== undefined) addPoint("kl", "reverse KL", event.step, event.reverse_kl);
  }
  if (event.acceptance !== undefined) addPoint("acceptance", "acceptance", event.step, event.acceptance);
  scheduleRender();
}

function addPoint(chart, series, step, value) {
  if (value === null || !Number.isFinite(value)) return;
  const curves = (view.curves[chart] ||= {});
  const points = (curves[series] ||= []);
  if (points.length && points[points.length - 1][0] === step) points.pop(); // a repeated step
  points.push([step, value]);
  if (points.length > MAX_CURVE) curves[series] = points.filter((_, i) => i % 2 === 0);
}

// ------------------------------------------------------------------ messages
function error(text) {
  view.errors.push(text);
  show(text, "error");
}
function note(text) { show(text, "note"); }
function show(text, kind) {
  const box = $("messages");
  box.textContent = "";
  const line = document.createElement("div");
  line.className = kind;
  line.textContent = text;
  box.appendChild(line);
}

// ------------------------------------------------------------------ the form
function fillSelect(select, values, label = String) {
  select.textContent = "";
  for (const value of values) {
    const option = document.createElement("option");
    option.value = String(value);
    option.textContent = label(value);
    select.appendChild(option);
  }
}

function fillRuns(runs) {
  fillSelect($("runs"), runs.length ? runs : [""], (name) => name || "no saved runs yet");
}

function fillSettings(settings) {
  for (const key of SETTINGS) {
    const field = $(key);
    if (key === "latent_dim" && ![...field.options].some((o) => o.value === String(settings[key]))) {
      const option = document.createElement("option");
      option.textContent = String(settings[key]);
      field.appendChild(option);
    }
    field.value = String(settings[key]);
  }
  $("draw-tools").hidden = settings.dataset !== "drawn";
}

function readSettings() {
  const settings = {};
  for (const key of SETTINGS) {
    const text = $(key).value;
    if (key === "dataset" || key === "loss") settings[key] = text;
    else settings[key] = text.trim() === "" ? null : Number(text);
  }
  return settings;
}

function apply() {
  const settings = readSettings();
  const message = { type: "settings", settings };
  if (settings.dataset === "drawn") {
    if (view.drawn.length < 10) {
      setDrawing(true);
      return error("draw at least 10 points on the plot first");
    }
    message.points = view.drawn;
  }
  setDrawing(false);
  send(message);
}

// ------------------------------------------------------------------ drawing a data set
function setDrawing(on) {
  view.drawing = on;
  $("plane").classList.toggle("drawing", on);
  $("draw-tools").hidden = $("dataset").value !== "drawn";
  render();
}

function gaussian() { // Box-Muller: the spray of a drawn stroke
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

function sprayAt(event) {
  const [x, y] = toData(event.offsetX, event.offsetY);
  const spread = 0.015 * (view.box.x[1] - view.box.x[0]);
  for (let i = 0; i < 4 && view.drawn.length < view.limits.drawn_points; i++) {
    view.drawn.push([x + spread * gaussian(), y + spread * gaussian()]);
  }
  $("drawn-count").textContent = `${view.drawn.length} points`;
  render();
}

function setUpDrawing() {
  const plane = $("plane");
  let down = false;
  plane.addEventListener("mousedown", (event) => {
    if (!view.drawing) return;
    down = true;
    sprayAt(event);
  });
  plane.addEventListener("mousemove", (event) => { if (down && view.drawing) sprayAt(event); });
  window.addEventListener("mouseup", () => { down = false; });
  $("clear-drawing").onclick = () => {
    view.drawn = [];
    $("drawn-count").textContent = "0 points";
    setDrawing(true);
  };
}

// ------------------------------------------------------------------ the data plane
let renderPending = false;
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => { renderPending = false; render(); });
}

function toPixel(x, y) {
  const { box } = view;
  const canvas = $("plane");
  return [(x - box.x[0]) / (box.x[1] - box.x[0]) * canvas.width,
          (1 - (y - box.y[0]) / (box.y[1] - box.y[0])) * canvas.height];
}

function toData(px, py) {
  const { box } = view;
  const canvas = $("plane");
  const scale = canvas.width / canvas.clientWidth;
  return [box.x[0] + px * scale / canvas.width * (box.x[1] - box.x[0]),
          box.y[0] + (1 - py * scale / canvas.height) * (box.y[1] - box.y[0])];
}

// D's values to colours: a probability on [0, 1]; a critic or an energy on the frame's range,
// an energy (MEG's U, BEGAN's auto-encoder loss) turned round, since low energy is real.
function heatScale(header) {
  const label = header.heat_label;
  const [lo, hi] = label === "D(x)" ? [0, 1] : header.heat_range;
  return { lo, hi, lowIsReal: label.startsWith("energy") || label.startsWith("auto-encoder") };
}

function heatKey(header) { // follows the legend's colour ramp, left to right
  const { lo, hi, lowIsReal } = heatScale(header);
  const [fake, real] = lowIsReal ? [hi, lo] : [lo, hi];
  return `background: ${header.heat_label}, ${fake.toPrecision(3)} (looks generated) ` +
    `to ${real.toPrecision(3)} (looks real)`;
}

// D's landscape takes the snapshots' colour map: --landscape-generated, -undecided and -real
// of /static/palette.css (gankit.evaluation.palette.LANDSCAPE), as [r, g, b] each.
function landscapeColours() {
  return ["generated", "undecided", "real"].map((end) => {
    const hex = paletteColour(`landscape-${end}`);
    return [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16));
  });
}

// t on [0, 1], 0 looks generated, 1 looks real: a straight line in RGB through the three
// colours, as matplotlib's LinearSegmentedColormap draws the snapshots
function heatColour(t, [generated, undecided, real]) {
  const [a, b, s] = t < 0.5 ? [generated, undecided, t * 2] : [undecided, real, (t - 0.5) * 2];
  return a.map((v, i) => Math.round(v + (b[i] - v) * s));
}

function drawHeat(frame) { // one pixel a grid cell: the page scales the canvas up smoothly
  const values = frame.arrays.heat;
  const side = Math.round(Math.sqrt(values.length));
  const { lo, hi, lowIsReal } = heatScale(frame.header);
  const colours = landscapeColours();
  const canvas = $("heat");
  if (canvas.width !== side) canvas.width = canvas.height = side;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(side, side);
  for (let row = 0; row < side; row++) {
    for (let col = 0; col < side; col++) {
      let t = hi > lo ? (values[row * side + col] - lo) / (hi - lo) : 0.5;
      if (lowIsReal) t = 1 - t;
      const [r, g, b] = heatColour(Math.min(1, Math.max(0, t)), colours);
      const at = ((side - 1 - row) * side + col) * 4; // grid rows start at the bottom
      image.data.set([r, g, b, 255], at);
    }
  }
  ctx.putImageData(image, 0, 0);
}

// Real and generated points take the snapshots' colours: --real and --fake of
// /static/palette.css, which the server writes from gankit.evaluation.palette.
function paletteColour(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(`--${name}`).trim();
}

function drawPoints(ctx, points, colour, size, alpha = 1) { // squares in one path: one fill a set
  ctx.fillStyle = colour;
  ctx.globalAlpha = alpha;
  ctx.beginPath();
  for (const [x, y] of points) {
    const [px, py] = toPixel(x, y);
    ctx.rect(px - size / 2, py - size / 2, size, size);
  }
  ctx.fill();
  ctx.globalAlpha = 1;
}

function drawFlatPoints(ctx, flat, colour, size, alpha = 1) {
  drawPoints(ctx, pairs(flat), colour, size, alpha);
}

function pairs(flat) {
  const out = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}

function tracePath(ctx, points) { // a polyline added to the current path
  points.forEach(([x, y], i) => {
    const [px, py] = toPixel(x, y);
    if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
  });
}

function drawManifold(ctx, manifold, latentDim) {
  const points = pairs(manifold);
  ctx.strokeStyle = "rgba(40, 40, 40, 0.45)";
  ctx.lineWidth = 1;
  ctx.beginPath();
  if (latentDim === 1) tracePath(ctx, points);
  else {
    const side = Math.round(Math.sqrt(points.length));
    for (let i = 0; i < side; i++) {
      tracePath(ctx, points.slice(i * side, (i + 1) * side)); // z_1 fixed, z_2 varies
      tracePath(ctx, points.filter((_, k) => k % side === i)); // z_2 fixed, z_1 varies
    }
  }
  ctx.stroke();
}

function drawArrows(ctx, fake, arrows, longest) {
  if (!(longest > 0)) return;
  const reach = 0.06 * (view.box.x[1] - view.box.x[0]) / longest;
  ctx.strokeStyle = "rgba(192, 57, 43, 0.7)";
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let i = 0; i < arrows.length; i += 2) {
    const [x0, y0] = toPixel(fake[i], fake[i + 1]);
    const [x1, y1] = toPixel(fake[i] + reach * arrows[i], fake[i + 1] + reach * arrows[i + 1]);
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
  }
  ctx.stroke();
}

function drawChains(ctx, chains) {
  ctx.strokeStyle = "rgba(230, 126, 34, 0.9)";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  for (const chain of chains) tracePath(ctx, chain);
  ctx.stroke();
  drawPoints(ctx, chains.map((chain) => chain[chain.length - 1]), "rgba(230, 126, 34, 1)", 6);
}

// The real points change only with the data set: their layer is redrawn only then.
let realLayerFor = null;

function drawReal() {
  const key = `${view.generation}:${view.drawn.length}:${view.drawing}:${$("show-real").checked}`;
  if (realLayerFor === key) return;
  realLayerFor = key;
  const canvas = $("real");
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!view.box || !$("show-real").checked) return;
  drawPoints(ctx, view.real, paletteColour("real"), 3.5, 0.55);
  if (view.drawing || view.settings?.dataset === "drawn") {
    drawPoints(ctx, view.drawn, paletteColour("real"), 3.5, 0.9);
  }
}

let lastShown = null;
let heatFor = null;

function render() {
  const canvas = $("plane");
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!view.box) return;
  const frame = view.frame;
  $("heat").hidden = !(frame && $("show-heat").checked);
  if (frame && frame !== heatFor && $("show-heat").checked) {
    drawHeat(frame);
    heatFor = frame;
  }
  drawReal();
  if (frame) {
    if ($("show-manifold").checked && frame.arrays.manifold.length) {
      drawManifold(ctx, frame.arrays.manifold, view.settings.latent_dim);
    }
    if ($("show-arrows").checked) {
      drawArrows(ctx, frame.arrays.fake, frame.arrays.arrows, frame.header.arrow_max);
    }
    if ($("show-fake").checked) {
      drawFlatPoints(ctx, frame.arrays.fake, paletteColour("fake"), 3.5, 0.75);
    }
  }
  if (view.metrics?.chains && $("show-chains").checked) drawChains(ctx, view.metrics.chains);
  if (frame && frame !== lastShown) { // a new frame reached the screen
    lastShown = frame;
    view.shown += 1;
  }
  scheduleCharts();
  showCounters();
  showRate();
}

// Text changes lay the page out again: the counters follow the frames four times a second.
const TEXT_EVERY_MS = 250;
let textShownAt = -Infinity;

function showCounters() {
  const h = view.frame?.header;
  if (!h || performance.now() - textShownAt < TEXT_EVERY_MS && view.playing) return;
  textShownAt = performance.now();
  $("counter").textContent = `step ${h.step} · D steps ${h.d_steps} · G steps ${h.g_steps}`;
  $("heat-label").textContent = heatKey(h);
}

function showRate() {
  if (!view.playing) {
    $("rate").textContent = "";
    return;
  }
  const now = performance.now();
  const seconds = (now - rateClock.time) / 1000;
  if (seconds < 1) return;
  const fps = (view.frames - rateClock.frames) / seconds;
  const sps = Math.max(0, view.step - rateClock.step) / seconds;
  $("rate").textContent = `${fps.toFixed(0)} frames/s · ${sps.toFixed(0)} steps/s`;
  rateClock = { time: now, frames: view.frames, step: view.step };
}

// ------------------------------------------------------------------ curves
const CHARTS = { losses: "chart-losses", w1: "chart-w1", modes: "chart-modes", hq: "chart-hq",
  kl: "chart-kl", acceptance: "chart-acceptance" };

const CHART_EVERY_MS = 500; // curves move slowly: redrawn twice a second
let chartsDrawnAt = -Infinity;

let chartTimer = null;

function scheduleCharts() { // now if the last drawing is old enough, else once it is
  if (chartTimer !== null) return;
  const wait = Math.max(0, CHART_EVERY_MS - (performance.now() - chartsDrawnAt));
  chartTimer = setTimeout(() => { chartTimer = null; drawCharts(); }, wait);
}

function drawCharts() {
  chartsDrawnAt = performance.now();
  for (const [chart, id] of Object.entries(CHARTS)) drawChart($(id), view.curves[chart] || {});
}

function drawChart(canvas, curves) {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  const all = Object.values(curves).flat();
  if (!all.length) {
    ctx.fillStyle = "#999";
    ctx.fillText(view.metrics && canvas.id !== "chart-losses" ? "not measured on this data"
      : "no values yet", 8, 16);
    return;
  }
  const pad = { left: 44, right: 6, top: 6, bottom: 16 };
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const [x, y] of all) {
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
  const px = (x) => pad.left + (x - x0) / (x1 - x0) * (width - pad.left - pad.right);
  const py = (y) => height - pad.bottom - (y - y0) / (y1 - y0) * (height - pad.top - pad.bottom);
  ctx.strokeStyle = "#ccc";
  ctx.strokeRect(pad.left, pad.top, width - pad.left - pad.right, height - pad.top - pad.bottom);
  ctx.fillStyle = "#555";
  ctx.font = "10px system-ui, sans-serif";
  ctx.fillText(y1.toPrecision(3), 2, pad.top + 8);
  ctx.fillText(y0.toPrecision(3), 2, height - pad.bottom);
  ctx.fillText(`step ${x1}`, width - 70, height - 3);
  Object.entries(curves).forEach(([name, points], i) => {
    ctx.strokeStyle = COLOURS[i % COLOURS.length];
    ctx.lineWidth = 1.2;
    ctx.beginPath();
    points.forEach(([x, y], k) => (k ? ctx.lineTo(px(x), py(y)) : ctx.moveTo(px(x), py(y))));
    ctx.stroke();
    ctx.fillStyle = COLOURS[i % COLOURS.length];
    ctx.fillText(name, pad.left + 4 + 80 * i, pad.top + 10);
  });
}

// ------------------------------------------------------------------ controls
function setUpControls() {
  $("play").onclick = () => send({ type: view.playing ? "pause" : "play" });
  $("step-d").onclick = () => send({ type: "step", phase: "d" });
  $("step-g").onclick = () => send({ type: "step", phase: "g" });
  $("step-full").onclick = () => send({ type: "step", phase: "full" });
  $("reset").onclick = () => send({ type: "reset" });
  $("apply").onclick = apply;
  const speed = () => send({ type: "speed", steps_per_frame: Number($("speed").value),
    delay_ms: Number($("delay").value) });
  $("speed").onchange = speed;
  $("delay").onchange = speed;
  $("loss").onchange = () => send({ type: "defaults", loss: $("loss").value,
    dataset: $("dataset").value });
  $("dataset").onchange = () => {
    const drawn = $("dataset").value === "drawn";
    setDrawing(drawn);
    if (!drawn) apply();
  };
  for (const id of ["show-heat", "show-real", "show-fake", "show-manifold", "show-arrows",
    "show-chains"]) $(id).onchange = render;
  $("save").onclick = () => send({ type: "save", name: $("save-name").value });
  $("open").onclick = () => send({ type: "open", name: $("runs").value });
  document.addEventListener("keydown", (event) => {
    if (event.code === "Space" && event.target === document.body) {
      event.preventDefault();
      $("play").click();
    }
  });
}

setUpControls();
setUpDrawing();
connect();
