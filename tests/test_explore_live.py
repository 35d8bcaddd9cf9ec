"""The explorer as an instrument: settings that change live keep the weights and the
exported code replays them bit for bit; user strings reach the code only as literals;
uploads with numbers the network cannot train on are refused; a page's memory is
bounded and freed; and the notebook widget (one JavaScript module with the page) works
in Chromium against a stub of anywidget's model and in a real kernel through nbclient."""
import ast
import base64
import json
import os
import subprocess
import sys
import time

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from test_explore import _run_code as _run
from test_explore import _settings
from websockets.sync.client import connect

import glassnet as gn
from glassnet.explore import protocol, views
from glassnet.explore.session import Session


def test_live_changes_keep_the_weights_and_the_code_replays_them(tmp_path):
    session = Session(_settings(features=["x1", "x2", "x1^2", "sin_x2"], name="moons"))
    assert session.X_train.shape[1] == 4
    session.step("epoch")
    before = session.model.get_weights()
    changes = [{"learning_rate": 0.01, "batch_size": 7}, {"optimizer": "sgd", "l2": 0.001},
               {"noise": 0.3}, {"test_ratio": 0.3, "batch_size": 60}, {"learning_rate": 0.02}]
    for change in changes:
        settings = json.loads(json.dumps(session.settings))
        for key, value in change.items():
            (settings["data"] if key in settings["data"] else settings)[key] = value
        info = session.configure(settings)
        assert "changed live" in info["note"]
        for _ in range(3):
            session.step("batch")
    assert session.steps == 40 + 15
    frame = session.set_weight(1, 2, 3, 1.25)                          # a weight by hand
    assert frame["weights"][1]["W"][2][3] == 1.25 and "set to 1.25" in session.note
    session.step("batch")
    assert session.model.optimizer.learning_rate == 0.02               # the live rate
    assert not all(np.array_equal(a, b) for a, b in zip(before, session.model.get_weights()))
    weights = _run(session.code(), tmp_path)
    assert all(np.array_equal(a, b) for a, b in zip(weights, session.model.get_weights()))
    settings = json.loads(json.dumps(session.settings))                 # a new network
    settings["layers"][0]["units"] = 5
    info = session.configure(settings)
    assert "a new network (layers changed)" in info["note"] and session.steps == 0


HOSTILE = ["data\nopen('X', 'w').write('ran')\n#.csv", "a\rb.csv", "a\u2028b\u2029c.csv",
           "it's \"quoted\".csv", "back\\slash.csv", "nul\x00byte.csv", "x" * 196 + ".csv"]


def test_hostile_file_names_reach_the_code_only_as_literals(tmp_path):
    X, y = gn.datasets.make_blobs(60, centers=2, seed=1)
    text = "\n".join(f"{a},{b},{c}" for (a, b), c in zip(X, y)).encode()

    def script(name):
        session = Session()
        session.upload(name, text)
        session.configure(_settings(name="upload"))
        session.step("batch")
        return session.code()

    def shape(code):                      # the statements, with the file's name blanked
        tree = ast.parse(code)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                    node.value.endswith(".csv"):
                node.value = "FILE"
        return ast.dump(tree)

    expected = shape(script("plain.csv"))
    for name in HOSTILE:
        code = script(name)
        assert shape(code) == expected, name
        assert name not in code or name.isprintable() and "\\" not in name, name
        if "\x00" in name or "\r" in name:
            continue                                       # not a name a disk can hold
        folder = tmp_path / str(HOSTILE.index(name))
        folder.mkdir()
        (folder / name).write_bytes(text)
        _run(code, folder)
        assert sorted(os.listdir(folder)) == sorted([name, "explored.py",
                                                     "explored.glassnet"])
    with pytest.raises(ValueError, match=r"1 to 200 characters"):
        Session().upload("y" * 300 + ".csv", text)


def test_uploads_the_network_cannot_train_on_are_refused_naming_the_file():
    session = Session()
    rows = "\n".join(f"{i},{i % 3},{1e30 if i == 4 else i * 0.5}" for i in range(20))
    with pytest.raises(ValueError, match=r"'huge.csv' has a target of 1e\+30 in data row 5"):
        session.upload("huge.csv", rows.encode())
    with pytest.raises(ValueError, match=r"'mine.csv'") as refused:
        session.upload("mine.csv", b"1,2,0\n3,,1\n" * 6)
    assert "/tmp" not in str(refused.value) and "upload.csv" not in str(refused.value)
    table = np.c_[np.random.default_rng(0).normal(size=(30, 2)), np.arange(30) % 2 * 1.0]
    import io
    buffer = io.BytesIO()
    np.save(buffer, table)
    assert session.upload("floats.npy", buffer.getvalue())["targets"] == "class labels"
    assert protocol.encode({"loss": float("inf"), "x": [float("nan"), 1.0]}) == \
        '{"loss": null, "x": [null, 1.0]}'


def _rss(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def test_a_page_at_the_largest_network_stays_bounded_and_is_freed():
    process = subprocess.Popen([sys.executable, "-m", "glassnet", "explore", "--no-browser",
                                "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().split(": ", 1)[1].strip()
        port, token = int(url.split(":")[2].split("/")[0]), url.split("token=")[1]
        address = (f"ws://127.0.0.1:{port}/ws?token={token}", f"http://127.0.0.1:{port}")
        biggest = _settings(name="digits", batch_size=1, layers=[
            {"units": 128, "activation": "relu", "dropout": 0.0, "batchnorm": False}] * 12)

        def page(frames):
            """One page at the largest network, training ``frames`` frames; RSS while open."""
            with connect(address[0], origin=address[1], open_timeout=30) as ws:
                ws.recv(timeout=60)
                ws.send(json.dumps({"op": "configure", "settings": biggest}))
                ws.recv(timeout=60)
                assert json.loads(ws.recv(timeout=60))["widths"][1:3] == [128, 128]
                for _ in range(frames):
                    ws.send(json.dumps({"op": "next"}))
                    ws.recv(timeout=60)
                return _rss(process.pid)
        # idle: after a first page has come and gone -- it loads what every page shares
        # once per server (imports; with GLASSNET_FAST=1 the compiled optimiser kernels,
        # about 100 MB with numba's LLVM), which is not a page's state
        page(2)
        time.sleep(2)
        idle = _rss(process.pid)
        busy = page(20)                              # about 0.4 s of training, 20 frames
        time.sleep(2)
        closed = _rss(process.pid)
    finally:
        process.kill()
        process.communicate(timeout=20)
    assert busy - idle < 300, (idle, busy)
    assert closed - idle < 50, (idle, busy, closed)


# --- the notebook widget -----------------------------------------------------------------
def test_the_widget_module_renders_and_talks_through_a_stub_model():
    from playwright.sync_api import sync_playwright

    from glassnet.explore.widget import Explorer
    X, y = gn.datasets.make_moons(200, noise=0.2, seed=0)
    widget = Explorer(X, y, layers=[6, 4], learning_rate=0.05)
    sent = []

    def kernel(message):                       # the kernel's side, as the comm delivers it
        sent.append(message)
        return [json.loads(protocol.encode(r)) for r in widget.answer(message)]
    module = base64.b64encode(Explorer._esm.encode()).decode()
    stub = """
      const sent = [];
      const model = {handlers: [],
                     on(event, f) { if (event === "msg:custom") this.handlers.push(f); },
                     send(msg) { window.kernel(msg).then((replies) => replies.forEach(
                       (r) => this.handlers.forEach((f) => f(r)))); }};
      import("data:text/javascript;base64,MODULE").then((m) => {
        const el = document.getElementById("cell");
        window.cleanup = m.default.render({model, el});
        window.el = el;
      });""".replace("MODULE", module)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            errors = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.expose_function("kernel", kernel)
            page.set_content(f"<style>{Explorer._css}</style><div id='cell'></div>")
            page.add_script_tag(content=stub, type="module")
            page.wait_for_function("window.el && window.el.glassnet && "
                                   "window.el.glassnet.frame", timeout=30000)
            assert sent[0] == {"op": "hello"}
            assert page.evaluate("window.el.glassnet.net.widths") == [2, 6, 4, 2]
            page.click("#play")
            page.wait_for_function("window.el.glassnet.frame.step > 20", timeout=30000)
            page.click("#play")
            page.wait_for_function("!window.el.glassnet.playing && "
                                   "window.el.glassnet.frame.step === "
                                   "Number(document.querySelector('#status').dataset.step)",
                                   timeout=10000)
            time.sleep(0.3)
            ops = [m["op"] for m in sent]
            assert "next" in ops and ops.index("pause") > ops.index("next")
            assert page.evaluate("window.el.glassnet.frame.step") == widget.session.steps
            page.fill("#lr", "0.2")                          # a live change: no reset
            page.dispatch_event("#lr", "change")
            page.wait_for_function("window.el.glassnet.settings.learning_rate === 0.2",
                                   timeout=10000)
            assert widget.model.optimizer.learning_rate == 0.2 and widget.session.steps > 20
            page.evaluate("window.cleanup()")
        finally:
            browser.close()
    assert errors == []


def test_a_notebook_creates_and_steps_a_widget(tmp_path):
    cells = [("import glassnet as gn\n"
              "X, y = gn.datasets.make_moons(200, noise=0.2, seed=0)\n"
              "w = gn.explore(X, y, layers=[4])\nw"),
             ("replies = w.answer({'op': 'step', 'what': 'epoch'})\n"
              "print(replies[-1]['type'], replies[-1]['step'], w.session.steps)"),
             "w._receive(w, {'op': 'next'}, [])\nprint(w.session.steps > 16)"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute(env=env)
    shown = notebook.cells[0].outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in shown
    assert notebook.cells[1].outputs[0]["text"] == "frame 16 16\n"
    assert notebook.cells[2].outputs[0]["text"] == "True\n"


def test_the_widget_starts_from_your_model_and_its_code_reproduces_it(tmp_path):
    from glassnet.explore.widget import Explorer
    X, y = gn.datasets.make_moons(300, noise=0.2, seed=0)
    mine = gn.Sequential([gn.Dense(6, activation="relu", input_dim=2), gn.Dropout(0.1),
                          gn.Dense(2, activation="softmax")], seed=5)
    mine.compile("adam", "sparse_categorical_crossentropy")
    mine.fit(X, y, epochs=2, verbose=0)                    # trained: not a seeded start
    before = [w.copy() for w in mine.get_weights()]
    widget = Explorer(X, y, model=mine, learning_rate=0.05)
    assert widget.session.settings["layers"] == [{"units": 6, "activation": "relu",
                                                  "dropout": 0.1, "batchnorm": False}]
    assert all(np.array_equal(a, b) for a, b in zip(widget.model.get_weights(), before))
    for _ in range(3):
        widget.answer({"op": "step", "what": "epoch"})
    np.savez(tmp_path / "explored_data.npz", X=X, y=y)
    widget.save_start(str(tmp_path / "explored_start.glassnet"))
    weights = _run(widget.code(), tmp_path)
    assert all(np.array_equal(a, b) for a, b in zip(weights, widget.model.get_weights()))
    assert all(np.array_equal(a, b) for a, b in zip(mine.get_weights(), before))  # yours
    widget.answer({"op": "reset"})                                             # as it was
    assert all(np.array_equal(a, b) for a, b in zip(widget.model.get_weights(), before))
    with pytest.raises(ValueError, match=r"must end in Dense\(2, activation='softmax'\)"):
        Explorer(X, y, model=gn.Sequential([gn.Dense(3, activation="softmax", input_dim=2)]))
    with pytest.raises(ValueError, match=r"layer 'dense' \(Dense\) is not one the explorer"):
        Explorer(X, y, model=gn.Sequential([gn.Dense(4, activation="softmax", input_dim=2),
                                            gn.Dense(2, activation="softmax")]))


def test_a_convolution_on_the_digits_shows_its_maps_and_its_multiply_adds(tmp_path):
    session = Session(_settings(name="digits", conv=3, layers=[
        {"units": 16, "activation": "relu", "dropout": 0.0, "batchnorm": False}]))
    session.step("epoch")
    frame = session.frame()
    assert len(frame["conv"]["maps"]) == 3 and frame["conv"]["size"] == 6
    assert np.array(session.describe()["test"]["images"]).shape == (16, 64)  # drawn as 8x8
    cell = views.conv_cell(session, 2, 1, 3, sample=5)
    window, kernel = np.array(cell["window"]), np.array(cell["kernel"])
    np.testing.assert_array_equal(window, session.X_test[5, 1:4, 3:6, 0])
    assert cell["z"] == pytest.approx(float((window * kernel).sum() + cell["bias"]), rel=1e-5,
                                      abs=1e-6)
    assert cell["a"] == max(cell["z"], 0.0)
    weights = _run(session.code(), tmp_path)
    assert all(np.array_equal(a, b) for a, b in zip(weights, session.model.get_weights()))
    with pytest.raises(ValueError, match=r"conv: a convolution reads images"):
        Session(_settings(conv=2))
