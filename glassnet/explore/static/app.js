// glassnet explore: the page only draws. Every number comes from the engine over the
// WebSocket; settings and commands go back the same way.
const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.search).get("token") || "";
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                 "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const LOSSES = {classification: [["sparse_categorical_crossentropy", "cross-entropy"],
                                 ["focal", "focal"]],
                regression: [["mse", "MSE"], ["mae", "MAE"]]};
const ACTIVATIONS = ["relu", "tanh", "sigmoid", "leaky_relu", "gelu", "linear"];
const MOST_SHOWN = 16;            // neurons drawn per layer (the rest are counted)

const state = {ws: null, session: null, net: null, settings: null, history: [],
               grads: [], frame: null, playing: false, neuron: null, weight: null,
               backprop: null, stage: 0};
window.glassnet = state;          // read-only, for tests and the curious

// --- the connection ----------------------------------------------------------------------
function send(op, extra = {}) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify({op, ...extra}));
  }
}

function connect() {
  const ws = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(token)}`);
  state.ws = ws;
  ws.onmessage = (event) => handle(JSON.parse(event.data));
  ws.onclose = () => { $("status").textContent = "disconnected: is glassnet explore running? " +
                                                  "Reload the page."; };
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

function handle(msg) {
  if (msg.type === "hello") {
    state.session = msg.session;
    links();
    network(msg.network);
    lessonsStart();
  } else if (msg.type === "network") {
    showError("");
    network(msg);
  } else if (msg.type === "frame") {
    frame(msg);
  } else if (msg.type === "state") {
    state.playing = msg.playing;
    $("play").textContent = msg.playing ? "Pause" : "Play";
    $("play").classList.toggle("on", msg.playing);
    if (msg.message) showError(msg.message);
    if (!msg.playing) refreshInside();
  } else if (msg.type === "error") {
    showError(msg.message);
  } else if (msg.type === "neuron") {
    showNeuron(msg);
  } else if (msg.type === "weight") {
    showWeight(msg);
  } else if (msg.type === "trace") {
    $("trace").textContent = msg.text;
  } else if (msg.type === "warp") {
    showWarp(msg);
  } else if (msg.type === "heatmaps") {
    showHeatmaps(msg);
  } else if (msg.type === "lesson") {
    showLesson(msg);
  }
}

// --- settings ----------------------------------------------------------------------------
function network(net) {
  state.net = net;
  state.settings = JSON.parse(JSON.stringify(net.settings));
  state.history = net.history.slice();
  state.grads = [];
  state.neuron = null;
  state.weight = null;
  fillSettings();
  drawNetwork();
  frame(net.frame, true);
  refreshInside();
}

function fillSettings() {
  const s = state.settings, net = state.net;
  $("data-name").value = s.data.name;
  $("data-samples").value = s.data.samples;
  $("data-noise").value = s.data.noise;
  $("data-classes").value = s.data.classes;
  $("data-test").value = s.data.test_ratio;
  $("problem").value = s.problem;
  $("loss").replaceChildren(...LOSSES[s.problem].map(([value, name]) => new Option(name, value)));
  $("loss").value = s.loss;
  $("optimizer").value = s.optimizer;
  $("lr").value = s.learning_rate;
  $("batch").value = s.batch_size;
  $("l2").value = s.l2;
  $("seed").value = s.seed;
  $("params").textContent = `${net.parameters.toLocaleString()} parameters; ` +
    `${net.train.size} training and ${net.test.size} test samples`;
  $("upload-note").textContent = `CSV (a header row is optional) or .npy; the last column ` +
    `is the target. At most ${(net.upload_limits.bytes / 1048576).toFixed(0)} MiB, ` +
    `${net.upload_limits.rows.toLocaleString()} rows, ${net.upload_limits.columns} columns.` +
    (net.uploaded ? ` Uploaded: ${net.uploaded}.` : "");
  const layers = $("layers");
  layers.replaceChildren();
  s.layers.forEach((layer, k) => {
    const box = document.createElement("div");
    box.className = "layer";
    box.innerHTML = `<div class="title">layer ${k + 1}<button data-remove="${k}" ` +
      `title="remove this layer">×</button></div>` +
      `<label>units <input type="number" min="1" max="${net.limits.units}" ` +
      `value="${layer.units}" data-key="units" data-layer="${k}"></label>` +
      `<label>activation <select data-key="activation" data-layer="${k}">` +
      ACTIVATIONS.map((a) => `<option${a === layer.activation ? " selected" : ""}>${a}</option>`)
        .join("") + `</select></label>` +
      `<label>dropout <input type="number" min="0" max="0.9" step="0.05" ` +
      `value="${layer.dropout}" data-key="dropout" data-layer="${k}"></label>` +
      `<label>batch norm <input type="checkbox" data-key="batchnorm" data-layer="${k}"` +
      `${layer.batchnorm ? " checked" : ""}></label>`;
    layers.append(box);
  });
}

function readSettings() {
  const s = JSON.parse(JSON.stringify(state.settings));
  const num = (id) => Number($(id).value);
  s.data = {name: $("data-name").value, samples: num("data-samples"), noise: num("data-noise"),
            classes: num("data-classes"), test_ratio: num("data-test")};
  s.problem = $("problem").value;
  s.loss = LOSSES[s.problem].some(([v]) => v === $("loss").value) ? $("loss").value
    : LOSSES[s.problem][0][0];
  s.optimizer = $("optimizer").value;
  s.learning_rate = num("lr");
  s.batch_size = num("batch");
  s.l2 = num("l2");
  s.seed = num("seed");
  document.querySelectorAll("#layers [data-key]").forEach((input) => {
    const layer = s.layers[Number(input.dataset.layer)], key = input.dataset.key;
    layer[key] = key === "activation" ? input.value
      : key === "batchnorm" ? input.checked : Number(input.value);
  });
  return s;
}

function configure(settings) {
  const name = settings.data.name;
  if (["plane", "waves"].includes(name)) settings.problem = "regression";
  else if (name !== "upload") settings.problem = "classification";
  if (!LOSSES[settings.problem].some(([v]) => v === settings.loss)) {
    settings.loss = LOSSES[settings.problem][0][0];
  }
  send("configure", {settings});
}

function wireSettings() {
  $("settings").addEventListener("change", (event) => {
    if (event.target.id === "upload") return;
    configure(readSettings());
  });
  $("layers").addEventListener("click", (event) => {
    const k = event.target.dataset.remove;
    if (k === undefined) return;
    const s = readSettings();
    s.layers.splice(Number(k), 1);
    configure(s);
  });
  $("add-layer").addEventListener("click", () => {
    const s = readSettings();
    s.layers.push({units: 4, activation: "tanh", dropout: 0, batchnorm: false});
    configure(s);
  });
  $("upload").addEventListener("change", async () => {
    const file = $("upload").files[0];
    if (!file) return;
    const url = `/api/upload?token=${encodeURIComponent(token)}&session=${state.session}` +
      `&name=${encodeURIComponent(file.name)}`;
    const reply = await fetch(url, {method: "POST", body: file});
    const info = await reply.json();
    $("upload").value = "";
    if (!reply.ok) { showError(info.error); return; }
    showError("");
    const s = readSettings();
    s.data.name = "upload";
    s.problem = info.targets === "class labels" ? "classification" : "regression";
    s.loss = LOSSES[s.problem][0][0];
    configure(s);
  });
}

// --- drawing helpers -----------------------------------------------------------------------
function unpack(p) {
  const bytes = atob(p.b64), out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    out[i] = p.low + (bytes.charCodeAt(i) / 255) * (p.high - p.low);
  }
  return out;
}

function rgb(hex) {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

function diverging(v) {          // v in [-1, 1]: blue, white, orange
  const t = Math.max(-1, Math.min(1, v));
  const [r, g, b] = t < 0 ? rgb("#1f77b4") : rgb("#f28e2b");
  const a = Math.abs(t);
  return [255 + (r - 255) * a, 255 + (g - 255) * a, 255 + (b - 255) * a];
}

function paint(values, size, colour) {  // a size x size canvas from values, row 0 on top
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  const ctx = canvas.getContext("2d"), image = ctx.createImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    const [r, g, b] = colour(values[i], i);
    image.data.set([r, g, b, 255], 4 * i);
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

function signedMap(p, size) {
  const values = unpack(p), limit = Math.max(Math.abs(p.low), Math.abs(p.high)) || 1;
  return paint(values, size, (v) => diverging(v / limit));
}

function scale(ctx, canvas, box) {   // data coordinates -> canvas pixels
  const [low, high] = box;
  return ([x, y]) => [(x - low[0]) / (high[0] - low[0]) * canvas.width,
                      (high[1] - y) / (high[1] - low[1]) * canvas.height];
}

function dot(ctx, [x, y], colour, edge, r = 3) {
  ctx.beginPath();
  ctx.arc(x, y, r, 0, 2 * Math.PI);
  ctx.fillStyle = colour;
  ctx.fill();
  ctx.strokeStyle = edge;
  ctx.lineWidth = 1;
  ctx.stroke();
}

// --- the network diagram (one canvas: tiles for neurons, lines for weights) ----------------
function layout() {
  const canvas = $("network"), width = canvas.width, height = canvas.height;
  const widths = state.net.widths, columns = widths.length;
  const tile = Math.max(10, Math.min(40, (height - 30) / Math.min(MOST_SHOWN,
                                                                   Math.max(...widths)) - 6));
  return widths.map((n, c) => {
    const shown = Math.min(n, MOST_SHOWN);
    const x = 20 + c * (width - 40 - tile) / Math.max(1, columns - 1);
    const gap = Math.min(tile + 8, (height - 30) / shown);
    const top = 24 + (height - 24 - gap * shown) / 2;
    return {n, shown, tile, x, ys: Array.from({length: shown}, (_, i) => top + i * gap)};
  });
}

function drawNetwork() {
  const canvas = $("network");
  canvas.width = Math.max(300, Math.round(canvas.clientWidth || 600));
  canvas.height = 480;
  state.layout = layout();
  if (state.frame) updateNetwork(state.frame);
}

function hit(x, y) {          // the neuron or the weight under the pointer, or null
  const cols = state.layout;
  for (let c = 1; c < cols.length; c++) {
    const col = cols[c];
    for (let i = 0; i < col.shown; i++) {
      if (x >= col.x && x <= col.x + col.tile && y >= col.ys[i] && y <= col.ys[i] + col.tile) {
        return {neuron: {layer: c - 1, unit: i}};
      }
    }
  }
  let best = null, bestDistance = 5;
  cols.slice(1).forEach((col, l) => {
    const prev = cols[l];
    prev.ys.forEach((y0, i) => col.ys.forEach((y1, j) => {
      const ax = prev.x + prev.tile, ay = y0 + prev.tile / 2, bx = col.x, by = y1 + col.tile / 2;
      const t = Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) /
                                         ((bx - ax) ** 2 + (by - ay) ** 2)));
      const d = Math.hypot(x - ax - t * (bx - ax), y - ay - t * (by - ay));
      if (d < bestDistance) { bestDistance = d; best = {weight: {layer: l, row: i, column: j}}; }
    }));
  });
  return best;
}

function clickNetwork(event) {
  const canvas = $("network"), box = canvas.getBoundingClientRect();
  const found = hit((event.clientX - box.left) * canvas.width / box.width,
                    (event.clientY - box.top) * canvas.height / box.height);
  if (!found) return;
  if (found.neuron) {
    state.neuron = found.neuron;
    send("neuron", {...state.neuron, sample: Number($("sample").value) || 0});
  } else {
    state.weight = found.weight;
    send("weight", state.weight);
  }
  tab("inside");
  updateNetwork(state.frame);
}

function centre(layer, unit) {   // where a neuron is drawn, in page pixels (for tests)
  const canvas = $("network"), box = canvas.getBoundingClientRect(), col = state.layout[layer + 1];
  return [box.left + (col.x + col.tile / 2) * box.width / canvas.width,
          box.top + (col.ys[unit] + col.tile / 2) * box.height / canvas.height];
}
state.centre = centre;
state.pointOn = (layer, row, column, t) => {  // a point on a weight's line (for tests;
  const canvas = $("network"), box = canvas.getBoundingClientRect(), cols = state.layout;
  const scale = box.width / canvas.width, prev = cols[layer], col = cols[layer + 1];
  const ax = prev.x + prev.tile, ay = prev.ys[row] + prev.tile / 2;    // lines i + j = k
  const bx = col.x, by = col.ys[column] + col.tile / 2;               // all cross midway)
  return [box.left + (ax + t * (bx - ax)) * scale, box.top + (ay + t * (by - ay)) * scale];
};

function updateNetwork(frame) {
  const cols = state.layout, canvas = $("network"), ctx = canvas.getContext("2d");
  if (!cols || !frame) return;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  cols.slice(1).forEach((col, l) => {
    const prev = cols[l], W = frame.weights[l].W;
    prev.ys.forEach((y0, i) => col.ys.forEach((y1, j) => {
      const w = W[i][j];
      const chosen = state.weight && state.weight.layer === l && state.weight.row === i &&
        state.weight.column === j;
      ctx.strokeStyle = chosen ? "#000" : (w >= 0 ? "rgba(242,142,43,0.75)"
                                                  : "rgba(31,119,180,0.75)");
      ctx.lineWidth = chosen ? 4 : Math.min(6, 0.3 + 2.5 * Math.abs(w));
      ctx.beginPath();
      ctx.moveTo(prev.x + prev.tile, y0 + prev.tile / 2);
      ctx.lineTo(col.x, y1 + col.tile / 2);
      ctx.stroke();
    }));
  });
  let m = 0;
  const last = cols.length - 1;
  cols.forEach((col, c) => {
    ctx.fillStyle = "#222";
    ctx.font = "12px sans-serif";
    const act = c === 0 ? "input" : state.net.activations[c - 1];
    ctx.fillText(`${col.n} ${act}` + (col.n > col.shown ? ` (${col.shown} shown)` : ""),
                 col.x, 14);
    for (let i = 0; i < col.n; i++) {
      const shown = i < col.shown;
      let image = null;
      if (frame.maps && c < last) {
        if (shown) image = signedMap(frame.maps[m], frame.grid);
        m++;
      } else if (frame.boundary && c === last && shown) {
        image = outputMap(frame, i);
      }
      if (!shown) continue;
      const y = col.ys[i];
      ctx.fillStyle = "#eee";
      ctx.fillRect(col.x, y, col.tile, col.tile);
      if (image) {
        ctx.imageSmoothingEnabled = true;
        ctx.drawImage(image, col.x, y, col.tile, col.tile);
      }
      const chosen = state.neuron && c > 0 && state.neuron.layer === c - 1 &&
        state.neuron.unit === i;
      ctx.strokeStyle = chosen ? "#000" : "#888";
      ctx.lineWidth = chosen ? 3 : 1;
      ctx.strokeRect(col.x, y, col.tile, col.tile);
    }
  });
}

function outputMap(frame, j) {   // output j over the plane: its class's region, or the value
  if (frame.boundary.label) {
    const labels = unpack(frame.boundary.label), conf = unpack(frame.boundary.confidence);
    return paint(labels, frame.grid, (v, i) => {
      const a = Math.round(v) === j ? conf[i] : 0;
      return rgb(COLOURS[j % 10]).map((x) => 255 + (x - 255) * a);
    });
  }
  return j === 0 ? signedMap(frame.boundary.value, frame.grid) : null;
}

// --- output, curves ------------------------------------------------------------------------
function frame(msg, fresh = false) {
  state.frame = msg;
  state.drawn = (state.drawn || 0) + 1;
  if (!fresh && msg.history && (!state.history.length ||
      state.history[state.history.length - 1].step !== msg.history.step)) {
    state.history.push(msg.history);
  }
  state.grads.push(msg.grad_norms);
  if (state.grads.length > 600) state.grads.shift();
  const h = msg.history;
  const acc = h.test_accuracy !== undefined
    ? `  accuracy train ${h.train_accuracy.toFixed(3)} test ${h.test_accuracy.toFixed(3)}` : "";
  $("status").textContent = `step ${msg.step}  epoch ${msg.epoch}  loss train ` +
    `${h.train_loss.toFixed(4)} test ${h.test_loss.toFixed(4)}${acc}`;
  $("status").dataset.testLoss = h.test_loss;
  updateNetwork(msg);
  drawOutput(msg);
  curves();
}

function drawOutput(msg) {
  const canvas = $("boundary"), ctx = canvas.getContext("2d"), net = state.net;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (msg.boundary) {
    $("output-title").textContent = net.classes ? "Decision boundary (lighter: less sure)"
      : "Prediction over the plane";
    let image;
    if (msg.boundary.label) {
      const labels = unpack(msg.boundary.label), conf = unpack(msg.boundary.confidence);
      const floor = 1 / Math.max(2, net.classes);
      image = paint(labels, msg.grid, (v, i) => {
        const a = Math.max(0, (conf[i] - floor) / (1 - floor)) * 0.6;
        return rgb(COLOURS[Math.round(v) % 10]).map((x) => 255 + (x - 255) * a);
      });
    } else {
      image = signedMap(msg.boundary.value, msg.grid);
    }
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
    const at = scale(ctx, canvas, msg.box);
    const parts = $("show-test").checked ? ["train", "test"] : ["train"];
    parts.forEach((part) => {
      const data = net[part];
      if (!data.X) return;
      data.X.forEach((x, k) => {
        const y = data.y[k];
        const colour = net.classes ? COLOURS[y % 10] : (y >= 0 ? "#f28e2b" : "#1f77b4");
        dot(ctx, at(x), colour, part === "train" ? "#fff" : "#000", 3);
      });
    });
  } else if (msg.predictions) {
    $("output-title").textContent = "Test digits: prediction (green right, red wrong)";
    const images = net.test.images || [];
    images.forEach((pixels, k) => {
      const size = 8, cell = 80, x0 = (k % 4) * (cell + 10), y0 = Math.floor(k / 4) * (cell + 10);
      const img = paint(pixels, size, (v) => [255 - 255 * v, 255 - 255 * v, 255 - 255 * v]);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(img, x0, y0, cell - 20, cell - 20);
      ctx.fillStyle = msg.predictions[k] === net.test.y[k] ? "#2ca02c" : "#d62728";
      ctx.font = "14px sans-serif";
      ctx.fillText(String(msg.predictions[k]), x0 + cell - 16, y0 + 20);
    });
  }
}

function plot(canvas, series, { log = false, ymin = null, ymax = null } = {}) {
  const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const all = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v) && (!log || v > 0));
  if (!all.length) return;
  const f = log ? Math.log10 : (v) => v;
  let lo = ymin ?? Math.min(...all.map(f)), hi = ymax ?? Math.max(...all.map(f));
  if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
  const n = Math.max(...series.map((s) => s.values.length));
  ctx.font = "11px sans-serif";
  ctx.fillStyle = "#555";
  ctx.fillText((log ? 10 ** hi : hi).toPrecision(3), 2, 11);
  ctx.fillText((log ? 10 ** lo : lo).toPrecision(3), 2, h - 3);
  series.forEach((s, k) => {
    ctx.strokeStyle = s.colour;
    ctx.lineWidth = 1.5;
    ctx.setLineDash(s.dashed ? [4, 3] : []);
    ctx.beginPath();
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v) || (log && v <= 0)) return;
      const x = 40 + (w - 50) * (n > 1 ? i / (n - 1) : 0), y = h - 5 - (h - 15) * (f(v) - lo) / (hi - lo);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = s.colour;
    ctx.fillText(s.name, w - 110, 12 + 13 * k);
  });
}

function curves() {
  const hist = state.history;
  plot($("loss-curve"), [
    {name: "train", colour: "#1f77b4", values: hist.map((e) => e.train_loss)},
    {name: "test", colour: "#d62728", dashed: true, values: hist.map((e) => e.test_loss)}],
    {log: true});
  const hasAcc = hist.length && hist[0].test_accuracy !== undefined;
  $("accuracy-title").hidden = $("accuracy-curve").hidden = !hasAcc;
  if (hasAcc) {
    plot($("accuracy-curve"), [
      {name: "train", colour: "#1f77b4", values: hist.map((e) => e.train_accuracy)},
      {name: "test", colour: "#d62728", dashed: true, values: hist.map((e) => e.test_accuracy)}],
      {ymin: 0, ymax: 1});
  }
  const layers = state.grads.length ? state.grads[0].length : 0;
  plot($("grad-curve"), Array.from({length: layers}, (_, k) => ({
    name: `layer ${k + 1}`, colour: COLOURS[k % 10], values: state.grads.map((g) => g[k])})),
    {log: true});
}

// --- see inside ----------------------------------------------------------------------------
function tab(name) {
  document.querySelectorAll(".tabs button").forEach((b) => {
    b.setAttribute("aria-selected", String(b.dataset.tab === name));
  });
  ["inside", "lessons", "takeaway"].forEach((t) => { $(t).hidden = t !== name; });
}

function refreshInside() {
  if (state.playing || !state.net) return;
  if (state.neuron) send("neuron", {...state.neuron, sample: Number($("sample").value) || 0});
  if (state.weight) send("weight", state.weight);
  send("trace");
  send("heatmaps");
  const select = $("warp-layer"), dense = state.net.widths.length - 1;
  if (select.options.length !== dense) {
    select.replaceChildren(...Array.from({length: dense}, (_, k) =>
      new Option(`layer ${k + 1}`, String(k))));
  }
  if (state.net.train.X) send("warp", {layer: Number(select.value) || 0});
  else $("warp").replaceChildren(document.createTextNode("The warp needs 2-D data."));
}

function fmt(v) { return Number(v).toPrecision(5); }

function showNeuron(msg) {
  const b = msg.backward;
  $("neuron").textContent =
    `layer ${msg.layer + 1}, neuron ${msg.unit + 1}, test sample ${msg.sample}\n` +
    `${msg.equation}\n${msg.output}\n\n` +
    `backward, for the last batch (${b.batch} samples; inference mode):\n` +
    `dL/dz per sample: [${b.dz.map(fmt).join(", ")}]\n` +
    `dW[:, ${msg.unit}] = [${b.dW.map(fmt).join(", ")}]\n` +
    `db = ${fmt(b.db)}\n${b.formula}`;
  $("neuron").dataset.z = msg.z;
  $("neuron").dataset.a = msg.a;
}

function showWeight(msg) {
  $("weight").textContent =
    `layer ${msg.layer + 1}: W[${msg.row}, ${msg.column}] (input ${msg.row + 1} -> ` +
    `neuron ${msg.column + 1})\nvalue    ${msg.value}\ngradient ${msg.gradient} (last step)\n` +
    `update   ${msg.update} (the optimiser's last step)`;
  plot($("weight-history"), [{name: "value", colour: "#1f77b4", values: msg.history}]);
}

function drawSpace(canvas, points, grid, labels, classes) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const pad = (a) => { const lo = Math.min(...a), hi = Math.max(...a), d = (hi - lo) * 0.1 || 1;
                       return [lo - d, hi + d]; };
  const [x0, x1] = pad(xs), [y0, y1] = pad(ys);
  const at = ([x, y]) => [(x - x0) / (x1 - x0) * canvas.width, (y1 - y) / (y1 - y0) * canvas.height];
  ctx.strokeStyle = "#ccc";
  ctx.lineWidth = 0.6;
  (grid || []).forEach((line) => {
    ctx.beginPath();
    line.forEach((p, i) => { const [x, y] = at(p); if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y); });
    ctx.stroke();
  });
  points.forEach((p, k) => {
    const y = labels[k];
    dot(ctx, at(p), classes ? COLOURS[y % 10] : (y >= 0 ? "#f28e2b" : "#1f77b4"), "#fff", 2.5);
  });
}

function showWarp(msg) {
  const box = $("warp");
  box.replaceChildren();
  msg.steps.forEach((step) => {
    const figure = document.createElement("figure"), canvas = document.createElement("canvas");
    canvas.width = canvas.height = 200;
    drawSpace(canvas, step.points, step.grid, msg.labels, state.net.classes);
    const caption = document.createElement("figcaption");
    caption.textContent = step.name + (msg.projected && step !== msg.steps[0] ? " (PCA view)" : "");
    figure.append(canvas, caption);
    box.append(figure);
  });
}

function heat(values, title) {
  const rows = values.length, cols = values[0].length, limit =
    Math.max(...values.flat().map(Math.abs)) || 1;
  const cell = Math.max(4, Math.min(18, Math.floor(160 / Math.max(rows, cols))));
  const canvas = document.createElement("canvas");
  canvas.width = cols * cell; canvas.height = rows * cell;
  const ctx = canvas.getContext("2d");
  values.forEach((row, i) => row.forEach((v, j) => {
    const [r, g, b] = diverging(v / limit);
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect(j * cell, i * cell, cell, cell);
  }));
  const figure = document.createElement("figure"), caption = document.createElement("figcaption");
  caption.textContent = title;
  figure.append(canvas, caption);
  return figure;
}

function showHeatmaps(msg) {
  const box = $("heatmaps");
  box.replaceChildren();
  msg.layers.forEach((layer, k) => {
    const [sx, sw, sz] = layer.shapes;
    const group = document.createElement("div");
    group.className = "row";
    group.append(heat(layer.X, `layer ${k + 1}: X (${sx.join(", ")})`),
                 heat(layer.W, `@ W (${sw.join(", ")})`),
                 heat(layer.XW, `= X @ W (${sz.join(", ")})`));
    box.append(group);
  });
}

// --- lessons -------------------------------------------------------------------------------
const LESSONS = {
  matrix: {w11: [1, -2, 2], w12: [0.5, -2, 2], w21: [-0.5, -2, 2], w22: [1, -2, 2],
           b1: [0, -2, 2], b2: [0, -2, 2]},
  neuron: {w: [1, -5, 5], b: [0, -5, 5]},
  softmax: {z1: [1, -5, 5], z2: [2, -5, 5], z3: [0, -5, 5], temperature: [1, 0.1, 10]},
};

function sliders(name) {
  const box = $(`${name}-sliders`);
  Object.entries(LESSONS[name]).forEach(([key, [value, lo, hi]]) => {
    const label = document.createElement("label");
    label.innerHTML = `${key} <input type="range" min="${lo}" max="${hi}" step="0.05" ` +
      `value="${value}" data-key="${key}"> <output>${value}</output>`;
    box.append(label);
  });
  box.addEventListener("input", (event) => {
    event.target.nextElementSibling.textContent = event.target.value;
    lesson(name);
  });
}

function lesson(name) {
  const values = {};
  document.querySelectorAll(`#${name}-sliders input`).forEach((input) => {
    values[input.dataset.key] = Number(input.value);
  });
  if (name !== "softmax") values.activation = $(`${name}-activation`).value;
  send("lesson", {name, values});
}

function lessonsStart() {
  if ($("matrix-sliders").children.length) return;
  ["matrix", "neuron", "softmax"].forEach((name) => { sliders(name); lesson(name); });
  $("matrix-activation").addEventListener("change", () => lesson("matrix"));
  $("neuron-activation").addEventListener("change", () => lesson("neuron"));
  send("lesson", {name: "backprop", values: {learning_rate: 0.5}});
  $("backprop-next").addEventListener("click", () => { state.stage = (state.stage + 1) % 6;
                                                       showBackprop(); });
  $("backprop-restart").addEventListener("click", () => { state.stage = 0; showBackprop(); });
}

function showLesson(msg) {
  if (msg.name === "matrix") {
    const canvas = $("matrix-canvas");
    drawSpace(canvas, msg.points.out, msg.grid.map((g) => g.out), msg.labels, 2);
    $("matrix-note").textContent = `det W = ${msg.det.toFixed(3)}: the plane's areas are ` +
      `multiplied by |det W|` + (msg.det < 0 ? " and it is flipped" : "") + ".";
  } else if (msg.name === "neuron") {
    plot($("neuron-canvas"), [{name: "f(w x + b)", colour: "#1f77b4", values: msg.y}]);
    $("neuron-note").textContent = msg.threshold === null ? "w = 0: no threshold"
      : `threshold x = -b/w = ${msg.threshold.toFixed(3)} (x from -6 to 6)`;
  } else if (msg.name === "softmax") {
    const canvas = $("softmax-canvas"), ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    msg.p.forEach((p, k) => {
      ctx.fillStyle = COLOURS[k];
      ctx.fillRect(30 + k * 95, canvas.height - 20 - p * 120, 60, p * 120);
      ctx.fillStyle = "#222";
      ctx.font = "12px sans-serif";
      ctx.fillText(`p${k + 1} = ${p.toFixed(3)}`, 30 + k * 95, canvas.height - 5);
    });
    $("softmax-note").textContent = "A high temperature flattens the probabilities; a low " +
      "one sharpens them towards the largest z.";
  } else if (msg.name === "backprop") {
    state.backprop = msg;
    showBackprop();
  }
}

function showBackprop() {
  const v = state.backprop;
  if (!v) return;
  const f = (a) => `[${a.map((x) => (Array.isArray(x) ? f(x) : Number(x).toFixed(4))).join(", ")}]`;
  const stages = [
    `1. forward, hidden layer: z1 = x W1 + b1 = ${f(v.z[0])}\n   a1 = sigmoid(z1) = ${f(v.a[0])}`,
    `2. forward, output: z2 = a1 W2 + b2 = ${f(v.z[1])}\n   y = sigmoid(z2) = ${f(v.a[1])}`,
    `3. loss (target 1): L = -log y = ${v.loss.toFixed(4)}`,
    `4. backward, output: dL/dz2 = y - 1 = ${f(v.dz[1])}\n   dW2 = a1^T dz2 = ${f(v.dW[1])}`,
    `5. backward, hidden: dL/dz1 = (dz2 W2^T) * a1 (1 - a1) = ${f(v.dz[0])}\n` +
      `   dW1 = x^T dz1 = ${f(v.dW[0])}`,
    `6. update: W <- W - 0.5 dL/dW: W2 = ${f(v.after[2])}\n   the loss over 10 steps: ` +
      `${v.losses.map((x) => x.toFixed(4)).join(", ")}`];
  $("backprop").textContent = `x = ${f(v.x)}, W1 = ${f(v.weights[0])}, W2 = ${f(v.weights[2])}` +
    `\n\n` + stages.slice(0, state.stage + 1).join("\n");
}

// --- take it away --------------------------------------------------------------------------
function links() {
  const q = `token=${encodeURIComponent(token)}&session=${state.session}`;
  $("download-model").href = `/api/download/model?${q}`;
  $("download-code").href = `/api/download/code?${q}`;
  $("download-boundary").href = `/api/download/picture?${q}&name=boundary`;
  $("download-warp").href = `/api/download/picture?${q}&name=warp`;
}

// --- wiring --------------------------------------------------------------------------------
function start() {
  $("play").addEventListener("click", () => send(state.playing ? "pause" : "play"));
  $("step-batch").addEventListener("click", () => send("step", {what: "batch"}));
  $("step-epoch").addEventListener("click", () => send("step", {what: "epoch"}));
  $("reset").addEventListener("click", () => send("reset"));
  $("show-test").addEventListener("change", () => state.frame && drawOutput(state.frame));
  $("sample").addEventListener("change", () => refreshInside());
  $("warp-layer").addEventListener("change", () => refreshInside());
  document.querySelectorAll(".tabs button").forEach((b) => {
    b.addEventListener("click", () => tab(b.dataset.tab));
  });
  $("network").addEventListener("click", clickNetwork);
  window.addEventListener("resize", () => state.net && drawNetwork());
  wireSettings();
  connect();
}

start();
