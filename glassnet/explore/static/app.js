// glassnet explore: one module for the page (served by `glassnet explore`) and for the
// notebook widget (`gn.explore(...)`, anywidget). It only draws: every number comes
// from the engine, through a transport (the page's WebSocket or the widget's comm).
// Frames are pulled: while playing, the page asks for the next frame only after it has
// drawn the last one, so nothing queues and Pause stops on the step that is shown.
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                 "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const LOSSES = {classification: [["sparse_categorical_crossentropy", "cross-entropy"]],
                regression: [["mse", "MSE"], ["mae", "MAE"]]};
const ACTIVATIONS = ["relu", "tanh", "sigmoid", "leaky_relu", "gelu", "linear"];
const FEATURES = [["x1", "x1"], ["x2", "x2"], ["x1^2", "x1²"], ["x2^2", "x2²"],
                  ["x1x2", "x1·x2"], ["sin_x1", "sin x1"], ["sin_x2", "sin x2"]];
const PLANE = ["circles", "moons", "spirals", "xor", "blobs", "plane", "waves"];
const LIVE_NOTE = "changes live: the weights are kept";
const TEMPLATE = `

<header>
  <h1>glassnet explore</h1>
  <div class="controls">
    <button id="play" title="train continuously">Play</button>
    <button id="step-batch" title="one batch: forward, loss, backward, update">Step batch</button>
    <button id="step-epoch" title="the rest of this epoch">Step epoch</button>
    <button id="reset" title="the same starting weights (same seed)">Reset</button>
  </div>
  <div id="status" aria-live="polite">connecting…</div>
  <button id="share" title="the settings as a link: open it to get the same network and data">Copy link</button>
</header>
<div id="error" role="alert" hidden></div>
<div id="note" role="status" hidden></div>
<main>
  <section id="settings" aria-label="settings">
    <h2>Data</h2>
    <label>set <select id="data-name">
      <option value="circles">circles</option><option value="moons">moons</option>
      <option value="spirals">spirals</option><option value="xor">xor</option>
      <option value="blobs">blobs</option><option value="digits">8x8 digits</option>
      <option value="plane">plane (regression)</option>
      <option value="waves">waves (regression)</option>
      <option value="upload">my file (uploaded)</option></select></label>
    <label>samples <input id="data-samples" type="number" min="20" max="5000" step="10"></label>
    <label>noise <input id="data-noise" type="number" min="0" max="2" step="0.05"></label>
    <label id="classes-label">classes <input id="data-classes" type="number" min="2" max="10"></label>
    <label>test share <input id="data-test" type="number" min="0.05" max="0.9" step="0.05"></label>
    <label class="upload">your data <input id="upload" type="file" accept=".csv,.npy"></label>
    <p class="note" id="upload-note"></p>
    <h2>Inputs</h2>
    <div id="features" class="features"></div>
    <h2>Problem</h2>
    <label>problem <select id="problem">
      <option value="classification">classification</option>
      <option value="regression">regression</option></select></label>
    <h2>Hidden layers</h2>
    <div id="layers"></div>
    <button id="add-layer">+ layer</button>
    <label id="conv-label">conv channels <input id="conv" type="number" min="0" max="8"
      title="the digits as images: a 3x3 convolution (relu) with this many channels first"></label>
    <h2>Training</h2>
    <label>loss <select id="loss"></select></label>
    <label>optimiser <select id="optimizer">
      <option value="sgd">SGD</option><option value="momentum">SGD + momentum</option>
      <option value="rmsprop">RMSprop</option><option value="adam">Adam</option></select></label>
    <label>learning rate <input id="lr" type="number" min="0.000001" max="10" step="0.001"></label>
    <label>batch size <input id="batch" type="number" min="1" max="1024"></label>
    <label>L2 <input id="l2" type="number" min="0" max="1" step="0.0001"></label>
    <label>seed <input id="seed" type="number" min="0" step="1"></label>
    <p class="note" id="params"></p>
  </section>
  <section id="network-view" aria-label="the network">
    <h2>The network <span class="hint">hover: value and gradient; click a neuron or a weight</span></h2>
    <div id="tip" hidden></div>
    <canvas id="network" width="600" height="480" role="img"
            aria-label="network diagram: click a neuron or a weight"></canvas>
    <p class="note">Each tile is one neuron's output over the input plane (orange positive,
      blue negative); each line one weight (width: |w|, colour: sign). At most 16 neurons of a
      layer are drawn.</p>
  </section>
  <section id="output-view" aria-label="output">
    <h2 id="output-title">Output</h2>
    <canvas id="boundary" width="360" height="360"></canvas>
    <table id="predictions" hidden></table>
    <div id="conv-view" hidden>
      <h2>Feature maps: <span id="conv-title"></span> <span class="hint">click a cell</span></h2>
      <div id="conv-maps" class="row"></div>
      <div id="conv-cell" class="mono"></div>
    </div>
    <label class="inline"><input id="show-test" type="checkbox" checked> show test points</label>
    <h2>Loss</h2>
    <canvas id="loss-curve" width="360" height="140"></canvas>
    <h2 id="accuracy-title">Accuracy</h2>
    <canvas id="accuracy-curve" width="360" height="120"></canvas>
    <h2>Gradient norms ||dW|| per layer</h2>
    <canvas id="grad-curve" width="360" height="120"></canvas>
  </section>
</main>
<nav class="tabs" role="tablist">
  <button role="tab" data-tab="inside" aria-selected="true">See inside</button>
  <button role="tab" data-tab="lessons" aria-selected="false">Lessons</button>
  <button role="tab" data-tab="takeaway" aria-selected="false">Take it away</button>
</nav>
<section id="inside" class="tab">
  <div class="cards">
    <div class="card">
      <h3>Neuron</h3>
      <label>test sample <input id="sample" type="number" min="0" value="0"></label>
      <div id="neuron" class="mono">Click a neuron in the network.</div>
    </div>
    <div class="card">
      <h3>Weight</h3>
      <div id="weight" class="mono">Click a weight (a line) in the network.</div>
      <div id="weight-edit" hidden><label>set it to <input id="weight-value" type="number"
        step="0.1" min="-100" max="100"></label> <button id="weight-set">Set</button>
        <span class="note">and see the boundary move (the code repeats it)</span></div>
      <canvas id="weight-history" width="320" height="90"></canvas>
    </div>
  </div>
  <h3>Space warp, layer by layer <select id="warp-layer"></select></h3>
  <div id="warp" class="row"></div>
  <h3>W of each layer, and the batch flowing through X @ W</h3>
  <div id="heatmaps" class="row"></div>
  <h3>Shape trace (the same as <code>model.trace</code>)</h3>
  <pre id="trace"></pre>
</section>
<section id="lessons" class="tab" hidden>
  <div class="cards">
    <div class="card">
      <h3>A 2x2 W and b warp the plane: y = f(x W + b)</h3>
      <div class="sliders" id="matrix-sliders"></div>
      <label>f <select id="matrix-activation"><option>linear</option><option>tanh</option>
        <option>relu</option></select></label>
      <canvas id="matrix-canvas" width="320" height="320"></canvas>
      <p class="note" id="matrix-note"></p>
    </div>
    <div class="card">
      <h3>One neuron: y = f(w x + b), the threshold at -b/w</h3>
      <div class="sliders" id="neuron-sliders"></div>
      <label>f <select id="neuron-activation"><option>sigmoid</option><option>tanh</option>
        <option>relu</option></select></label>
      <canvas id="neuron-canvas" width="320" height="200"></canvas>
      <p class="note" id="neuron-note"></p>
    </div>
    <div class="card">
      <h3>Softmax with a temperature: softmax(z / T)</h3>
      <div class="sliders" id="softmax-sliders"></div>
      <canvas id="softmax-canvas" width="320" height="160"></canvas>
      <p class="note" id="softmax-note"></p>
    </div>
    <div class="card">
      <h3>Backpropagation, one stage at a time (a 2-2-1 network)</h3>
      <button id="backprop-next">Next stage</button> <button id="backprop-restart">Restart</button>
      <div id="backprop" class="mono"></div>
    </div>
  </div>
</section>
<section id="takeaway" class="tab" hidden>
  <p>Everything here is the engine's own: the model loads with
    <code>glassnet.load_model</code>, and the code, run, repeats this page's training steps
    and ends with the same weights, bit for bit.</p>
  <ul>
    <li><a id="download-model" data-download="model" download="explored.glassnet">the model (.glassnet)</a></li>
    <li><a id="download-code" data-download="code" download="explored.py">the Python code (.py)</a></li>
    <li><a id="download-boundary" data-download="picture" data-name="boundary" download="boundary.png">the decision boundary, drawn by
      glassnet.viz (.png)</a></li>
    <li><a id="download-warp" data-download="picture" data-name="warp" download="warp.png">the space warp, drawn by glassnet.viz
      (.png)</a></li>
  </ul>
</section>
`;

// --- small helpers -------------------------------------------------------------------------
function range(values) {            // [min, max] without spreading (any length)
  let lo = Infinity, hi = -Infinity;
  for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
  return [lo, hi];
}

function rgb(hex) {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

const BLUE = rgb("#1f77b4"), ORANGE = rgb("#f28e2b");

function diverging(v) {          // v in [-1, 1]: blue, white, orange
  const t = Math.max(-1, Math.min(1, v));
  const [r, g, b] = t < 0 ? BLUE : ORANGE;
  const a = Math.abs(t);
  return [255 + (r - 255) * a, 255 + (g - 255) * a, 255 + (b - 255) * a];
}

function unpack(p) {
  const bytes = atob(p.b64), out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    out[i] = p.low + (bytes.charCodeAt(i) / 255) * (p.high - p.low);
  }
  return out;
}

const POOL = [];                 // small canvases reused from frame to frame
let pooled = 0;

function paint(values, size, colour, reuse = false) {  // a size x size canvas, row 0 on top
  let canvas;
  if (reuse) {                   // valid until the next frame starts (pooled = 0)
    if (pooled === POOL.length) POOL.push(document.createElement("canvas"));
    canvas = POOL[pooled++];
  } else {
    canvas = document.createElement("canvas");
  }
  if (canvas.width !== size) canvas.width = canvas.height = size;
  const ctx = canvas.getContext("2d"), image = ctx.createImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    const [r, g, b] = colour(values[i], i);
    image.data[4 * i] = r; image.data[4 * i + 1] = g; image.data[4 * i + 2] = b;
    image.data[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

function bytesOf(p) {             // the 0..255 codes of a packed map
  const text = atob(p.b64), out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function signedMap(p, size, reuse = false) {   // blue - white - orange, 256 colours per map
  const limit = Math.max(Math.abs(p.low), Math.abs(p.high)) || 1, table = new Uint8Array(768);
  for (let b = 0; b < 256; b++) {
    table.set(diverging((p.low + (b / 255) * (p.high - p.low)) / limit), 3 * b);
  }
  const codes = bytesOf(p);
  return paint(codes, size, (b) => table.subarray(3 * b, 3 * b + 3), reuse);
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

function fmt(v) { return v === null ? "–" : Number(v).toPrecision(5); }

function plot(canvas, series, { log = false, ymin = null, ymax = null } = {}) {
  const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const f = log ? Math.log10 : (v) => v;
  const all = [];
  series.forEach((s) => s.values.forEach((v) => {
    if (Number.isFinite(v) && (!log || v > 0)) all.push(f(v));
  }));
  if (!all.length) return;
  let [lo, hi] = range(all);
  lo = ymin ?? lo; hi = ymax ?? hi;
  if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
  let n = 0;
  series.forEach((s) => { n = Math.max(n, s.values.length); });
  ctx.font = "11px sans-serif";
  ctx.fillStyle = "#555";
  ctx.fillText((log ? 10 ** hi : hi).toPrecision(3), 2, 11);
  ctx.fillText((log ? 10 ** lo : lo).toPrecision(3), 2, h - 3);
  series.forEach((s, k) => {
    ctx.strokeStyle = s.colour;
    ctx.lineWidth = 1.5;
    ctx.setLineDash(s.dashed ? [4, 3] : []);
    ctx.beginPath();
    let started = false;
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v) || (log && v <= 0)) return;
      const x = 40 + (w - 50) * (n > 1 ? i / (n - 1) : 0);
      const y = h - 5 - (h - 15) * (f(v) - lo) / (hi - lo);
      if (!started) { ctx.moveTo(x, y); started = true; } else ctx.lineTo(x, y);
    });
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = s.colour;
    ctx.fillText(s.name, w - 110, 12 + 13 * k);
  });
}

function drawSpace(canvas, points, grid, labels, classes, box = null) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  let x0, x1, y0, y1;
  if (box) {
    [x0, x1] = box; [y0, y1] = box;
  } else {
    const pad = (a) => { const [lo, hi] = range(a), d = (hi - lo) * 0.1 || 1;
                         return [lo - d, hi + d]; };
    [x0, x1] = pad(points.map((p) => p[0])); [y0, y1] = pad(points.map((p) => p[1]));
  }
  const at = ([x, y]) => [(x - x0) / (x1 - x0) * canvas.width,
                          (y1 - y) / (y1 - y0) * canvas.height];
  if (box) {                     // the axes, so that sizes compare between settings
    ctx.strokeStyle = "#999";
    ctx.lineWidth = 1;
    ctx.beginPath();
    const [ax, ay] = at([0, 0]);
    ctx.moveTo(0, ay); ctx.lineTo(canvas.width, ay);
    ctx.moveTo(ax, 0); ctx.lineTo(ax, canvas.height);
    ctx.stroke();
  }
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

function heat(values, title) {
  const rows = values.length, cols = rows ? values[0].length : 0;
  let limit = 0;
  values.forEach((row) => row.forEach((v) => { limit = Math.max(limit, Math.abs(v)); }));
  limit = limit || 1;
  const cell = Math.max(3, Math.min(18, Math.floor(160 / Math.max(rows, cols, 1))));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, cols * cell); canvas.height = Math.max(1, rows * cell);
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

// --- one explorer, in a root element, over a transport ---------------------------------------
export function mount(root, transport) {
  root.classList.add("glassnet-explore");
  root.innerHTML = TEMPLATE;
  const $ = (id) => root.querySelector(`#${id}`);
  const state = {session: null, net: null, settings: null, history: [], grads: [],
                 frame: null, pending: null, playing: false, neuron: null, weight: null,
                 backprop: null, stage: 0, drawn: 0, shownAt: null, hover: null};
  const send = (op, extra = {}) => transport.send({op, ...extra});

  function showError(message) {
    $("error").textContent = message;
    $("error").hidden = !message;
  }

  function showNote(message) {
    $("note").textContent = message || "";
    $("note").hidden = !message;
  }

  function handle(msg) {
    if (msg.type === "hello") {
      state.session = msg.session;
      transport.hello(msg, state);
      network(msg.network);
      lessonsStart();
      const shared = transport.sharedSettings();
      if (shared) configure(shared);
    } else if (msg.type === "network") {
      showError("");
      network(msg);
    } else if (msg.type === "frame") {
      if (!state.net || msg.generation !== state.net.generation) return;   // stale
      state.pending = msg;
      requestAnimationFrame(drawPending);
    } else if (msg.type === "state") {
      if (!msg.playing) state.playing = false;
      else if (!state.pausing) state.playing = true;
      if (!msg.playing) state.pausing = false;
      if (msg.step !== undefined) state.stoppedAt = msg.step;   // Pause: the step shown
      $("play").textContent = state.playing ? "Pause" : "Play";
      $("play").classList.toggle("on", state.playing);
      if (msg.message) showError(msg.message);
    } else if (msg.type === "error") {
      showError(msg.message);
      if (state.net) fillSettings();             // the fields show what the engine uses
    } else if (msg.type === "note") {
      showNote(msg.message);
    } else if (msg.type === "uploaded") {
      uploaded(msg);
    } else if (msg.type === "download") {
      transport.save(msg);
    } else if (msg.generation !== undefined && state.net &&
               msg.generation !== state.net.generation) {
      return;                                   // an answer about a network now gone
    } else if (msg.type === "neuron") {
      showNeuron(msg);
    } else if (msg.type === "weight") {
      showWeight(msg);
    } else if (msg.type === "trace") {
      $("trace").textContent = msg.text;
    } else if (msg.type === "warp") {
      showWarp(msg);
    } else if (msg.type === "conv") {
      showConv(msg);
    } else if (msg.type === "heatmaps") {
      showHeatmaps(msg);
    } else if (msg.type === "lesson") {
      showLesson(msg);
    }
  }

  function drawPending() {          // only the latest frame is drawn; then the next is asked
    const msg = state.pending;
    if (!msg) return;
    state.pending = null;
    frame(msg);
    if (state.playing && !state.pausing) send("next");
    else refreshInside();
  }

  // --- settings --------------------------------------------------------------------------
  function network(net) {
    const same = state.net && state.net.generation === net.generation;   // a live change
    state.net = net;
    state.settings = JSON.parse(JSON.stringify(net.settings));
    state.history = net.history.slice();
    if (!same) state.grads = [];
    state.pending = null;
    state.frame = net.frame;          // the new network's own frame, before any drawing
    if (!same) {                       // a new network: nothing of the old one is chosen
      state.neuron = state.weight = state.convCell = null;
      $("conv-cell").textContent = "";
      $("conv-maps").replaceChildren();
      $("weight-edit").hidden = true;
    }
    showNote(net.note);
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
    const arms = s.data.name === "spirals", centres = s.data.name === "blobs";
    $("classes-label").hidden = !(arms || centres);
    $("classes-label").firstChild.textContent = arms ? "arms " : "classes ";
    $("problem").value = s.problem;
    $("problem").disabled = s.data.name !== "upload";
    $("loss").replaceChildren(...LOSSES[s.problem].map(([value, name]) => new Option(name, value)));
    $("loss").value = s.loss;
    $("optimizer").value = s.optimizer;
    $("lr").value = s.learning_rate;
    $("batch").value = s.batch_size;
    $("l2").value = s.l2;
    $("seed").value = s.seed;
    $("conv").value = s.conv;
    $("conv-label").hidden = s.data.name !== "digits";
    $("params").textContent = `${net.parameters.toLocaleString()} parameters; ` +
      `${net.train.size} training and ${net.test.size} test samples. Learning rate, L2, ` +
      `batch size, optimiser, loss, noise and test share ${LIVE_NOTE}.`;
    $("upload-note").textContent = `CSV (a header row is optional) or .npy; the last ` +
      `column is the target. At most ${(net.upload_limits.bytes / 1048576).toFixed(0)} MiB, ` +
      `${net.upload_limits.rows.toLocaleString()} rows, ${net.upload_limits.columns} columns.` +
      (net.uploaded ? ` Uploaded: ${net.uploaded}.` : "");
    const plane = PLANE.includes(s.data.name);
    $("features").replaceChildren(...FEATURES.map(([key, label]) => {
      const box = document.createElement("label");
      box.innerHTML = `<input type="checkbox" data-feature="${key}"` +
        `${s.features.includes(key) ? " checked" : ""}${plane ? "" : " disabled"}> ${label}`;
      return box;
    }));
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
    $("add-layer").disabled = s.layers.length >= net.limits.layers;
  }

  function readSettings() {
    const s = JSON.parse(JSON.stringify(state.settings));
    const num = (id) => Number($(id).value);
    s.data = {name: $("data-name").value, samples: num("data-samples"),
              noise: num("data-noise"), classes: num("data-classes"),
              test_ratio: num("data-test")};
    s.problem = $("problem").value;
    s.loss = LOSSES[s.problem].some(([v]) => v === $("loss").value) ? $("loss").value
      : LOSSES[s.problem][0][0];
    s.optimizer = $("optimizer").value;
    s.learning_rate = num("lr");
    s.batch_size = num("batch");
    s.l2 = num("l2");
    s.seed = num("seed");
    s.conv = num("conv");
    s.features = FEATURES.map(([key]) => key).filter((key) =>
      root.querySelector(`[data-feature="${key}"]`).checked);
    root.querySelectorAll("#layers [data-key]").forEach((input) => {
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
    if (name !== "digits") settings.conv = 0;     // a convolution reads images only
    if (!LOSSES[settings.problem].some(([v]) => v === settings.loss)) {
      settings.loss = LOSSES[settings.problem][0][0];
    }
    send("configure", {settings});
  }

  function uploaded(info) {
    showError("");
    const s = readSettings();
    s.data.name = "upload";
    s.problem = info.targets === "class labels" ? "classification" : "regression";
    s.loss = LOSSES[s.problem][0][0];
    configure(s);
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
      const info = await transport.upload(file);
      $("upload").value = "";
      if (info.error) showError(info.error); else if (info.name) uploaded(info);
    });
    $("share").addEventListener("click", () => {
      const link = transport.share(state.settings);
      $("share").title = link;
      if (navigator.clipboard) navigator.clipboard.writeText(link).catch(() => {});
      showNote(`the link to these settings (copied): ${link}`);
    });
  }

  // --- the network diagram (one canvas: tiles for neurons, lines for weights) --------------
  function layout() {
    const canvas = $("network"), width = canvas.width, height = canvas.height;
    const widths = state.net.widths, columns = widths.length, most = state.net.shown;
    let biggest = 1;
    widths.forEach((n) => { biggest = Math.max(biggest, Math.min(n, most)); });
    const room = (width - 40) / Math.max(1, columns);
    const tile = Math.max(8, Math.min(40, (height - 46) / biggest - 6, room * 0.6));
    return widths.map((n, c) => {
      const shown = Math.min(n, most);
      const x = 20 + c * (width - 40 - tile) / Math.max(1, columns - 1);
      const gap = Math.min(tile + 8, (height - 46) / shown);
      const top = 40 + (height - 40 - gap * shown) / 2;
      return {n, shown, tile, x, ys: Array.from({length: shown}, (_, i) => top + i * gap)};
    });
  }

  function drawNetwork() {
    const canvas = $("network");
    canvas.width = Math.max(280, Math.round(canvas.clientWidth || 600));
    canvas.height = Math.max(240, Math.round(canvas.clientHeight || 480));
    state.layout = layout();
    if (state.frame) updateNetwork(state.frame);
  }

  function hit(x, y) {          // the neuron or the weight under the pointer, or null
    const cols = state.layout;
    if (!cols) return null;
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

  function pointer(event) {
    const canvas = $("network"), box = canvas.getBoundingClientRect();
    return hit((event.clientX - box.left) * canvas.width / box.width,
               (event.clientY - box.top) * canvas.height / box.height);
  }

  function clickNetwork(event) {
    const found = pointer(event);
    if (!found) return;
    if (found.neuron) {
      state.neuron = found.neuron;
      send("neuron", {...state.neuron, sample: Number($("sample").value) || 0,
                      generation: state.net.generation});
    } else {
      state.weight = found.weight;
      send("weight", {...state.weight, generation: state.net.generation});
    }
    tab("inside");
    const card = $(found.neuron ? "neuron" : "weight");
    if (card.scrollIntoView) card.scrollIntoView({block: "nearest"});
    updateNetwork(state.frame);
  }

  function hoverNetwork(event) {     // the value and the last gradient under the pointer
    const found = pointer(event), tip = $("tip"), f = state.frame;
    if (!found || !f) { tip.hidden = true; return; }
    let text;
    if (found.weight) {
      const {layer, row, column} = found.weight;
      text = `W[${row}, ${column}] of layer ${layer + 1} = ${fmt(f.weights[layer].W[row][column])}` +
        `\ndL/dW = ${fmt(f.grads[layer].W[row][column])} (last step)`;
    } else {
      const {layer, unit} = found.neuron;
      text = `layer ${layer + 1}, neuron ${unit + 1}: bias b = ${fmt(f.weights[layer].b[unit])}` +
        `\ndL/db = ${fmt(f.grads[layer].b[unit])} (last step); click for its equation`;
    }
    tip.textContent = text;
    tip.hidden = false;
    const box = root.querySelector("#network-view").getBoundingClientRect();
    tip.style.left = `${event.clientX - box.left + 12}px`;
    tip.style.top = `${event.clientY - box.top + 12}px`;
  }

  function centre(layer, unit) {   // where a neuron is drawn, in page pixels (for tests)
    const canvas = $("network"), box = canvas.getBoundingClientRect(), col = state.layout[layer + 1];
    return [box.left + (col.x + col.tile / 2) * box.width / canvas.width,
            box.top + (col.ys[unit] + col.tile / 2) * box.height / canvas.height];
  }
  state.centre = centre;
  state.redraw = (f) => frame(f, true);      // for benchmarks: one frame drawn again
  state.parts = {updateNetwork, drawOutput, curves};
  state.pointOn = (layer, row, column, t) => {  // a point on a weight's line (for tests)
    const canvas = $("network"), box = canvas.getBoundingClientRect(), cols = state.layout;
    const sx = box.width / canvas.width, sy = box.height / canvas.height;
    const prev = cols[layer], col = cols[layer + 1];
    const ax = prev.x + prev.tile, ay = prev.ys[row] + prev.tile / 2;
    const bx = col.x, by = col.ys[column] + col.tile / 2;
    return [box.left + (ax + t * (bx - ax)) * sx, box.top + (ay + t * (by - ay)) * sy];
  };

  function label(ctx, cols, c, texts) {   // column labels on two rows, never clipped: the
    const col = cols[c], canvas = ctx.canvas;   // longest form that fits between neighbours
    ctx.font = "12px sans-serif";
    const room = cols.length > 1 ? 2 * Math.abs(cols[1].x - cols[0].x) - 8 : canvas.width;
    const text = texts.find((t) => ctx.measureText(t).width <= room) || texts[texts.length - 1];
    const width = ctx.measureText(text).width;
    let x = col.x + col.tile / 2 - width / 2;
    x = Math.max(2, Math.min(canvas.width - width - 2, x));
    ctx.fillText(text, x, c % 2 ? 30 : 14);
  }

  function updateNetwork(frame) {
    const cols = state.layout, canvas = $("network"), ctx = canvas.getContext("2d");
    if (!cols || !frame || frame.weights.length !== cols.length - 1) return;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    pooled = 0;
    const buckets = new Map();       // one path per colour and width: a few strokes in all
    cols.slice(1).forEach((col, l) => {
      const prev = cols[l], W = frame.weights[l].W;
      prev.ys.forEach((y0, i) => col.ys.forEach((y1, j) => {
        const w = W[i][j];
        const width = Math.round(Math.min(6, 0.3 + 2.5 * Math.abs(w)) * 4) / 4;
        const key = `${w >= 0 ? "rgba(242,142,43,0.75)" : "rgba(31,119,180,0.75)"}|${width}`;
        if (!buckets.has(key)) buckets.set(key, []);
        buckets.get(key).push([prev.x + prev.tile, y0 + prev.tile / 2, col.x, y1 + col.tile / 2]);
      }));
    });
    buckets.forEach((lines, key) => {
      const [colour, width] = key.split("|");
      ctx.strokeStyle = colour;
      ctx.lineWidth = Number(width);
      ctx.beginPath();
      lines.forEach(([ax, ay, bx, by]) => { ctx.moveTo(ax, ay); ctx.lineTo(bx, by); });
      ctx.stroke();
    });
    if (state.weight && state.weight.layer < cols.length - 1) {     // the chosen weight
      const {layer, row, column} = state.weight, prev = cols[layer], col = cols[layer + 1];
      if (row < prev.shown && column < col.shown) {
        ctx.strokeStyle = "#000";
        ctx.lineWidth = 4;
        ctx.beginPath();
        ctx.moveTo(prev.x + prev.tile, prev.ys[row] + prev.tile / 2);
        ctx.lineTo(col.x, col.ys[column] + col.tile / 2);
        ctx.stroke();
      }
    }
    const last = cols.length - 1;
    cols.forEach((col, c) => {
      ctx.fillStyle = "#222";
      const act = c > 0 ? state.net.activations[c - 1]
        : state.net.settings.conv ? "conv features" : "inputs";
      const more = col.n > col.shown ? ` (${col.shown} shown)` : "";
      label(ctx, cols, c, [`${col.n} ${act}${more}`, `${col.n} ${act}`, `${col.n}`]);
      for (let i = 0; i < col.shown; i++) {
        let image = null;
        if (frame.maps && c < last && frame.maps[c] && frame.maps[c][i]) {
          image = signedMap(frame.maps[c][i], frame.grid, true);
        } else if (frame.boundary && c === last) {
          image = outputMap(frame, i);
        }
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
      const [r, g, b] = rgb(COLOURS[j % 10]);
      return paint(labels, frame.grid, (v, i) => {
        const a = Math.round(v) === j ? conf[i] : 0;
        return [255 + (r - 255) * a, 255 + (g - 255) * a, 255 + (b - 255) * a];
      }, true);
    }
    return j === 0 ? signedMap(frame.boundary.value, frame.grid, true) : null;
  }

  // --- output, curves ------------------------------------------------------------------------
  function frame(msg, fresh = false) {
    state.frame = msg;
    state.drawn += 1;
    state.shownAt = performance.now();
    if (!fresh && msg.history && (!state.history.length ||
        state.history[state.history.length - 1].step !== msg.history.step)) {
      state.history.push(msg.history);
      if (state.history.length > 4000) {          // every other point, the last kept
        state.history = state.history.filter((_, i) => i % 2 === 0 ||
                                                       i === state.history.length - 1);
      }
    }
    state.grads.push(msg.grad_norms);
    if (state.grads.length > 600) state.grads.shift();
    const h = msg.history, acc = h.test_accuracy !== undefined && h.test_accuracy !== null
      ? `  accuracy train ${h.train_accuracy.toFixed(3)} test ${h.test_accuracy.toFixed(3)}` : "";
    $("status").textContent = `step ${msg.step}  epoch ${msg.epoch}  loss train ` +
      `${fmt(h.train_loss)} test ${fmt(h.test_loss)}${acc}`;
    $("status").dataset.step = msg.step;
    $("status").dataset.testLoss = h.test_loss;
    updateNetwork(msg);
    drawOutput(msg);
    drawConv(msg);
    curves();
  }

  function drawOutput(msg) {
    const canvas = $("boundary"), ctx = canvas.getContext("2d"), net = state.net;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const table = $("predictions");
    const digits = net.settings.data.name === "digits";
    $("show-test").parentElement.hidden = !msg.boundary;
    canvas.hidden = !(msg.boundary || digits);
    table.hidden = !!(msg.boundary || digits);
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
      const [low, high] = msg.box;
      const at = ([x, y]) => [(x - low[0]) / (high[0] - low[0]) * canvas.width,
                              (high[1] - y) / (high[1] - low[1]) * canvas.height];
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
    } else if (digits) {
      $("output-title").textContent = "Test digits: prediction (green right, red wrong)";
      (net.test.images || []).forEach((pixels, k) => {
        const cell = 80, x0 = (k % 4) * (cell + 10), y0 = Math.floor(k / 4) * (cell + 10);
        const img = paint(pixels, 8, (v) => [255 - 255 * v, 255 - 255 * v, 255 - 255 * v]);
        ctx.imageSmoothingEnabled = false;
        ctx.drawImage(img, x0, y0, cell - 20, cell - 20);
        ctx.fillStyle = msg.predictions[k] === net.test.first[k] ? "#2ca02c" : "#d62728";
        ctx.font = "14px sans-serif";
        ctx.fillText(String(msg.predictions[k]), x0 + cell - 16, y0 + 20);
      });
    } else {
      $("output-title").textContent = `Test rows: ${net.classes ? "predicted class" :
        "prediction"} and target (the first 16)`;
      const rows = msg.predictions.map((p, k) => {
        const t = net.test.first[k], ok = net.classes ? p === t : null;
        return `<tr${ok === null ? "" : ok ? ' class="right"' : ' class="wrong"'}><td>${k}</td>` +
          `<td>${fmt(p)}</td><td>${fmt(t)}</td></tr>`;
      });
      table.innerHTML = "<tr><th>row</th><th>prediction</th><th>target</th></tr>" + rows.join("");
    }
  }

  function drawConv(msg) {          // the digit and one map per channel, cells clickable
    const view = $("conv-view"), conv = msg.conv;
    view.hidden = !conv;
    if (!conv) return;
    $("conv-title").textContent = `test digit ${conv.sample} through 3x3 kernels, then ` +
      `${conv.activation} (${conv.maps.length} channels)`;
    const box = $("conv-maps"), cell = state.convCell;
    const figures = [["input (8x8)", conv.image, 8, null]].concat(
      conv.maps.map((m, c) => [`channel ${c + 1} (${conv.size}x${conv.size})`, m, conv.size, c]));
    if (box.children.length !== figures.length) {
      box.replaceChildren(...figures.map(([title, , , channel]) => {
        const figure = document.createElement("figure"), canvas = document.createElement("canvas");
        canvas.width = canvas.height = 72;
        canvas.dataset.channel = channel === null ? "" : String(channel);
        const caption = document.createElement("figcaption");
        caption.textContent = title;
        figure.append(canvas, caption);
        return figure;
      }));
    }
    figures.forEach(([, packed, size, channel], k) => {
      const canvas = box.children[k].querySelector("canvas"), ctx = canvas.getContext("2d");
      const image = channel === null
        ? paint(unpack(packed), size, (v) => [255 - 255 * v, 255 - 255 * v, 255 - 255 * v])
        : signedMap(packed, size);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(image, 0, 0, 72, 72);
      const unit = 72 / size;
      if (cell && (channel === null || channel === cell.channel)) {   // the window, the cell
        ctx.strokeStyle = "#000";
        ctx.lineWidth = 2;
        const span = channel === null ? 3 : 1;
        ctx.strokeRect(cell.column * unit + 1, cell.row * unit + 1, span * unit - 2,
                       span * unit - 2);
      }
    });
  }

  function clickConv(event) {
    const canvas = event.target;
    if (canvas.tagName !== "CANVAS" || canvas.dataset.channel === "" || !state.frame.conv) return;
    const box = canvas.getBoundingClientRect(), size = state.frame.conv.size;
    state.convCell = {channel: Number(canvas.dataset.channel),
                      row: Math.min(size - 1, Math.floor((event.clientY - box.top) / box.height * size)),
                      column: Math.min(size - 1, Math.floor((event.clientX - box.left) / box.width * size))};
    send("conv", {...state.convCell, sample: state.frame.conv.sample,
                  generation: state.net.generation});
    drawConv(state.frame);
  }

  function showConv(msg) {
    const f = (a) => a.map((r) => r.map((v) => Number(v).toFixed(3).padStart(7)).join(" ")).join("\n");
    $("conv-cell").textContent = `channel ${msg.channel + 1}, cell (${msg.row}, ${msg.column}) ` +
      `of test digit ${msg.sample}\nwindow x (3x3 of the input):\n${f(msg.window)}\n` +
      `kernel w:\n${f(msg.kernel)}\nbias b = ${fmt(msg.bias)}\n${msg.equation}\n${msg.output}`;
    $("conv-cell").dataset.z = msg.z;
  }

  function curves() {
    const hist = state.history;
    plot($("loss-curve"), [
      {name: "train", colour: "#1f77b4", values: hist.map((e) => e.train_loss)},
      {name: "test", colour: "#d62728", dashed: true, values: hist.map((e) => e.test_loss)}],
      {log: true});
    const hasAcc = hist.length > 0 && hist[0].test_accuracy !== undefined;
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

  // --- see inside ------------------------------------------------------------------------------
  function tab(name) {
    root.querySelectorAll(".tabs button").forEach((b) => {
      b.setAttribute("aria-selected", String(b.dataset.tab === name));
    });
    ["inside", "lessons", "takeaway"].forEach((t) => { $(t).hidden = t !== name; });
  }

  function refreshInside() {
    if (state.playing || !state.net) return;
    const generation = state.net.generation;
    if (state.neuron) {
      send("neuron", {...state.neuron, sample: Number($("sample").value) || 0, generation});
    }
    if (state.weight) send("weight", {...state.weight, generation});
    send("trace", {generation});
    send("heatmaps", {generation});
    const select = $("warp-layer"), dense = state.net.widths.length - 1;
    if (select.options.length !== dense) {
      select.replaceChildren(...Array.from({length: dense}, (_, k) =>
        new Option(`layer ${k + 1}`, String(k))));
    }
    if (state.net.widths[0] === 2) send("warp", {layer: Number(select.value) || 0, generation});
    else $("warp").replaceChildren(document.createTextNode(
      "The warp is drawn for networks with 2 inputs (x1, x2)."));
  }

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
    $("weight-edit").hidden = false;
    if (root.ownerDocument.activeElement !== $("weight-value")) $("weight-value").value = msg.value;
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

  // --- lessons -----------------------------------------------------------------------------
  const LESSONS = {
    matrix: {w11: [1, -2, 2], w12: [0.5, -2, 2], w21: [-0.5, -2, 2], w22: [1, -2, 2],
             b1: [0, -2, 2], b2: [0, -2, 2]},
    neuron: {w: [1, -5, 5], b: [0, -5, 5]},
    softmax: {z1: [1, -5, 5], z2: [2, -5, 5], z3: [0, -5, 5], temperature: [1, 0.1, 10]},
  };

  function sliders(name) {
    const box = $(`${name}-sliders`);
    Object.entries(LESSONS[name]).forEach(([key, [value, lo, hi]]) => {
      const row = document.createElement("label");
      row.innerHTML = `<span>${key}</span> <input type="range" min="${lo}" max="${hi}" ` +
        `step="0.05" value="${value}" data-key="${key}"> <output>${value}</output>`;
      box.append(row);
    });
    box.addEventListener("input", (event) => {
      event.target.nextElementSibling.textContent = event.target.value;
      lesson(name);
    });
  }

  function lesson(name) {
    const values = {};
    root.querySelectorAll(`#${name}-sliders input`).forEach((input) => {
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
      drawSpace($("matrix-canvas"), msg.points.out, msg.grid.map((g) => g.out), msg.labels, 2,
                msg.box);
      $("matrix-note").textContent = `det W = ${msg.det.toFixed(3)}: the plane's areas are ` +
        `multiplied by |det W|` + (msg.det < 0 ? " and it is flipped" : "") +
        ` (fixed axes from ${msg.box[0]} to ${msg.box[1]}).`;
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
      $("softmax-note").textContent = "A high temperature flattens the probabilities; a " +
        "low one sharpens them towards the largest z.";
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

  // --- wiring --------------------------------------------------------------------------------
  $("play").addEventListener("click", () => {
    if (state.playing) {                 // stop asking; the answer is the shown step's frame
      state.pausing = true;
      state.playing = false;
      state.stoppedAt = null;
      state.pauseClicked = performance.now();
      send("pause");
    } else {                             // at once: a second click is a Pause
      state.playing = true;
      send("play");
    }
    $("play").textContent = state.playing ? "Pause" : "Play";
    $("play").classList.toggle("on", state.playing);
  });
  $("weight-set").addEventListener("click", () => {
    if (!state.weight || !state.net) return;
    send("set_weight", {...state.weight, value: Number($("weight-value").value),
                        generation: state.net.generation});
  });
  $("step-batch").addEventListener("click", () => send("step", {what: "batch"}));
  $("step-epoch").addEventListener("click", () => send("step", {what: "epoch"}));
  $("reset").addEventListener("click", () => send("reset"));
  $("show-test").addEventListener("change", () => state.frame && drawOutput(state.frame));
  $("sample").addEventListener("change", () => refreshInside());
  $("warp-layer").addEventListener("change", () => refreshInside());
  root.querySelectorAll(".tabs button").forEach((b) => {
    b.addEventListener("click", () => tab(b.dataset.tab));
  });
  $("network").addEventListener("click", clickNetwork);
  $("conv-maps").addEventListener("click", clickConv);
  $("network").addEventListener("mousemove", hoverNetwork);
  $("network").addEventListener("mouseleave", () => { $("tip").hidden = true; });
  root.querySelectorAll("[data-download]").forEach((link) => {
    link.addEventListener("click", (event) => transport.download(event, link.dataset.download,
                                                                 link.dataset.name));
  });
  const resize = () => state.net && drawNetwork();
  window.addEventListener("resize", resize);
  wireSettings();
  transport.connect(handle);
  return {state, close: () => window.removeEventListener("resize", resize)};
}

// --- the page: a WebSocket to `glassnet explore` -----------------------------------------------
function pageTransport() {
  const token = new URLSearchParams(location.search).get("token") || "";
  const q = () => `token=${encodeURIComponent(token)}&session=${transport.session}`;
  let ws = null;
  const transport = {
    session: null,
    connect(handle) {
      ws = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(token)}`);
      ws.onmessage = (event) => handle(JSON.parse(event.data));
      ws.onclose = () => {
        const status = document.getElementById("status");
        if (status) status.textContent = "disconnected: is glassnet explore running? Reload.";
      };
    },
    send(message) {
      if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
    },
    hello(msg) {
      transport.session = msg.session;
      document.querySelectorAll("[data-download]").forEach((link) => {
        const what = link.dataset.download;
        link.href = `/api/download/${what}?${q()}` +
          (link.dataset.name ? `&name=${link.dataset.name}` : "");
      });
    },
    download() {},                     // the links download by themselves
    save() {},
    async upload(file) {
      const reply = await fetch(`/api/upload?${q()}&name=${encodeURIComponent(file.name)}`,
                                {method: "POST", body: file});
      return reply.json();
    },
    share(settings) {
      const url = new URL(location.href);
      url.hash = "settings=" + encodeURIComponent(JSON.stringify(settings));
      history.replaceState(null, "", url.hash);
      return url.href;
    },
    sharedSettings() {
      const hash = location.hash.startsWith("#settings=") ? location.hash.slice(10) : "";
      if (!hash) return null;
      try { return JSON.parse(decodeURIComponent(hash)); } catch (error) { return null; }
    },
  };
  return transport;
}

// --- the notebook widget: anywidget's model, messages to the kernel -----------------------------
export function widgetTransport(model) {
  let handler = () => {};
  const transport = {
    connect(handle) {
      handler = handle;
      model.on("msg:custom", (msg) => handler(msg));
      model.send({op: "hello"});
    },
    send(message) { model.send(message); },
    hello() {},
    download(event, what, name) {
      event.preventDefault();
      model.send({op: "download", what, name});
    },
    save(msg) {                         // a download the kernel sent: save it as a file
      const bytes = Uint8Array.from(atob(msg.b64), (c) => c.charCodeAt(0));
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([bytes], {type: msg.mime}));
      link.download = msg.name;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    },
    upload(file) {
      return new Promise((resolve) => {
        const reader = new FileReader();
        reader.onload = () => {
          model.send({op: "upload", name: file.name, b64: reader.result.split(",")[1] || ""});
          resolve({});                 // the kernel answers with "uploaded" or an error
        };
        reader.readAsDataURL(file);
      });
    },
    share(settings) { return JSON.stringify(settings); },
    sharedSettings() { return null; },
  };
  return transport;
}

function render({model, el}) {
  const explorer = mount(el, widgetTransport(model));
  el.glassnet = explorer.state;        // for tests and the curious
  return () => explorer.close();
}

export default {render};

if (typeof document !== "undefined" && document.getElementById("glassnet-page")) {
  const page = mount(document.getElementById("glassnet-page"), pageTransport());
  window.glassnet = page.state;         // read-only, for tests and the curious
}
