"""glassnet explore: the session (every number the page draws), the server's gates
(token, Host, Origin, static files, uploads), Ctrl-C, and the page itself in Debian's
Chromium: it trains, resets to the same weights, shows the engine's numbers, takes a
CSV, shows a bad one's error, and hands back code that reproduces its weights."""
import contextlib
import http.client
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import pytest
from PIL import Image
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

import glassnet as gn
from glassnet.explore import views
from glassnet.explore.server import listening_socket, server
from glassnet.explore.session import Session
from glassnet.explore.settings import DEFAULTS, SettingsError, check_settings
from glassnet.explore.views import lesson


def _settings(**changes):
    settings = json.loads(json.dumps(DEFAULTS))
    for key, value in changes.items():
        if key in settings["data"]:
            settings["data"][key] = value
        else:
            settings[key] = value
    return settings


# --- the session ---------------------------------------------------------------------------
def test_settings_are_checked_field_by_field():
    check_settings(DEFAULTS)
    cases = [({"layers": [{"units": 0, "activation": "tanh"}]},
              r"hidden layer 1: units must be a whole number from 1 to 128, got 0"),
             ({"layers": [{"units": 4, "activation": "swish"}]},
              r"hidden layer 1: activation must be one of relu, tanh"),
             ({"name": "plane"}, r"the plane data set is a regression problem"),
             ({"learning_rate": -1}, r"learning_rate must be a number from 1e-06 to 10"),
             ({"name": "upload"}, r"no file has been uploaded yet"),
             ({"samples": 10 ** 9}, r"data: samples must be a whole number from 20 to 5000")]
    for change, message in cases:
        with pytest.raises(SettingsError, match=message):
            check_settings(_settings(**change))


def test_reset_and_the_same_steps_give_the_same_weights():
    settings = _settings(layers=[{"units": 6, "activation": "relu", "dropout": 0.2,
                                  "batchnorm": True}])
    session = Session(settings)
    start = session.model.get_weights()
    for _ in range(3):
        session.step("epoch")
    trained = session.model.get_weights()
    session.reset()
    assert all(np.array_equal(a, b) for a, b in zip(start, session.model.get_weights()))
    for _ in range(3):
        session.step("epoch")
    assert all(np.array_equal(a, b) for a, b in zip(trained, session.model.get_weights()))
    assert session.steps == 3 * 40 and session.epoch == 3                 # 400 rows, batch 10


def _run_code(code, folder):
    (folder / "explored.py").write_text(code)
    subprocess.run([sys.executable, "explored.py"], cwd=folder, check=True, timeout=120,
                   capture_output=True)
    return gn.load_model(str(folder / "explored.glassnet")).get_weights()


def test_the_exported_code_reproduces_the_weights_bit_for_bit(tmp_path):
    settings = _settings(name="spirals", classes=3, optimizer="momentum", batch_size=16,
                         layers=[{"units": 8, "activation": "relu", "dropout": 0.1,
                                  "batchnorm": True},
                                 {"units": 6, "activation": "tanh", "dropout": 0.0,
                                  "batchnorm": False}])
    session = Session(settings)
    session.step("epoch")
    for _ in range(7):
        session.step("batch")
    weights = _run_code(session.code(), tmp_path)
    assert all(np.array_equal(a, b) for a, b in zip(weights, session.model.get_weights()))


def test_an_uploaded_csv_trains_and_its_code_reproduces_it(tmp_path):
    X, y = gn.datasets.make_blobs(200, centers=3, seed=1)
    text = "a,b,label\n" + "\n".join(f"{a},{b},{c}" for (a, b), c in zip(X, y))
    session = Session()
    info = session.upload("points.csv", text.encode())
    assert info == {"name": "points.csv", "rows": 200, "features": 2, "targets": "class labels"}
    session.configure(_settings(name="upload"))
    for _ in range(3):
        session.step("epoch")
    assert session.history[-1]["test_accuracy"] > 0.9
    (tmp_path / "points.csv").write_text(text)
    weights = _run_code(session.code(), tmp_path)
    assert all(np.array_equal(a, b) for a, b in zip(weights, session.model.get_weights()))
    np.save(tmp_path / "table.npy", np.c_[X, X[:, 0] - X[:, 1]])    # regression, .npy
    info = session.upload("table.npy", (tmp_path / "table.npy").read_bytes())
    assert info["targets"] == "numbers" and info["features"] == 2
    session.configure(_settings(name="upload", problem="regression", loss="mse"))
    session.step("epoch")


def test_bad_uploads_are_refused_with_what_to_fix():
    session = Session()
    with pytest.raises(ValueError, match=r"row 3, column 2 is 'x'; every field must be"):
        session.upload("bad.csv", b"1,2,0\n3,4,1\n5,x,0\n")
    with pytest.raises(ValueError, match=r"neither \.csv nor \.npy"):
        session.upload("model.pkl", b"\x80\x04")
    with pytest.raises(ValueError, match=r"the explorer takes 10 to 20,000 rows"):
        session.upload("tiny.csv", b"1,2,0\n3,4,1\n")
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="only numbers are read"):
        session.upload("evil.npy", buffer.getvalue())
    session.upload("floats.csv", "\n".join(f"{i},{i * 0.5}" for i in range(20)).encode())
    with pytest.raises(SettingsError, match="classification needs whole-number class labels"):
        session.configure(_settings(name="upload"))


def test_the_neuron_panel_holds_the_engines_forward_and_backward_numbers():
    session = Session()
    session.step("epoch")
    out = views.neuron(session, 1, 2, sample=5)
    dense = session.model.layers[1]
    h = session.model.layer_outputs(session.X_test[5:6])[1][0]          # layer 2's input
    z = float(h @ dense.params["W"][:, 2] + dense.params["b"][2])
    assert out["z"] == pytest.approx(z, rel=1e-5) and out["a"] == pytest.approx(np.tanh(z),
                                                                               rel=1e-5)
    assert out["equation"].endswith(f"= {out['z']:.6g}")
    back = out["backward"]                                              # dW = X^T dZ
    X = session.model.layer_outputs(session.X_train[session.last_batch])[1]
    np.testing.assert_allclose(X.T @ np.array(back["dz"]), back["dW"], rtol=1e-4, atol=1e-7)
    assert back["db"] == pytest.approx(sum(back["dz"]), rel=1e-4, abs=1e-7)
    before = session.model.flat_grads.copy()
    views.neuron(session, 0, 0)                                                # looking changes
    assert np.array_equal(before, session.model.flat_grads)             # nothing


def test_the_weight_panel_has_value_gradient_update_and_history():
    session = Session()
    first = session.model.layers[0].params["W"][1, 3]
    for _ in range(5):
        session.step("batch")
    out = views.weight(session, 0, 1, 3)
    W = session.model.layers[0].params["W"]
    assert out["value"] == float(W[1, 3]) and len(out["history"]) == 6
    assert out["history"][0] == float(first) and out["history"][-1] == out["value"]
    assert out["update"] == pytest.approx(out["history"][-1] - out["history"][-2])
    assert out["gradient"] == float(session.model.layers[0].grads["W"][1, 3])
    with pytest.raises(SettingsError, match="row must be 0 to 1"):
        views.weight(session, 0, 7, 0)
    flat = session.model.flat_params                                    # where it lives
    assert out["value"] == float(flat[session.model.param_slice(session.model.layers[0],
                                                                "W")][1 * 8 + 3])


def test_frames_warps_heatmaps_and_lessons_are_the_engines():
    session = Session()
    frame = session.step("batch")
    assert [len(m) for m in frame["maps"]] == [2, 8, 8] and frame["grid"] == 40
    assert frame["weights"][0]["W"] == session.model.layers[0].params["W"].tolist()
    warp = views.warp(session, 0)
    assert [s["name"] for s in warp["steps"]] == ["input", "layer 1: x W", "layer 1: + b",
                                                  "layer 1: tanh"] and warp["projected"]
    maps = views.heatmaps(session)["layers"][0]
    np.testing.assert_allclose(np.array(maps["X"]) @ np.array(maps["W"]), maps["XW"], rtol=1e-5,
                               atol=1e-7)
    out = lesson("matrix", {"w11": 1, "w12": 0.5, "w21": -0.5, "w22": 1, "b1": 0.3,
                            "b2": -0.2, "activation": "tanh"})
    xW = np.array(out["points"]["xW"])
    np.testing.assert_allclose(out["points"]["out"], np.tanh(xW + [0.3, -0.2]), rtol=1e-12)
    assert out["det"] == pytest.approx(1.25)
    p = lesson("softmax", {"z1": 1, "z2": 2, "z3": 0, "temperature": 2})["p"]
    np.testing.assert_allclose(p, np.exp([0.5, 1, 0]) / np.exp([0.5, 1, 0]).sum())
    assert lesson("neuron", {"w": 2, "b": 1, "activation": "sigmoid"})["threshold"] == -0.5
    assert lesson("backprop", {"learning_rate": 0.5})["losses"][0] > 0
    digits = Session(_settings(name="digits"))
    assert len(digits.step("batch")["predictions"]) == 16


# --- the server ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def explorer():
    sock = listening_socket(0)
    token = "secret-token-for-tests"
    srv = server(sock, token)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:                                    # bounded wait
        assert time.monotonic() < deadline, "the explorer did not start"
        time.sleep(0.02)
    yield {"port": sock.getsockname()[1], "token": token}
    srv.should_exit = True
    thread.join(10)


def _get(explorer, path, host=None, headers=None, method="GET", body=None):
    connection = http.client.HTTPConnection("127.0.0.1", explorer["port"], timeout=10)
    connection.putrequest(method, path, skip_host=True)
    connection.putheader("Host", host or f"127.0.0.1:{explorer['port']}")
    for key, value in (headers or {}).items():
        connection.putheader(key, value)
    if body is not None and "Content-Length" not in (headers or {}):
        connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), data


def test_the_server_wants_the_token_on_every_request(explorer):
    token = explorer["token"]
    assert _get(explorer, "/")[0] == 403
    assert _get(explorer, "/?token=wrong")[0] == 403
    assert _get(explorer, "/static/app.js")[0] == 403
    status, headers, page = _get(explorer, f"/?token={token}")
    assert status == 200 and b"glassnet explore" in page
    assert "HttpOnly" in headers["set-cookie"] and "SameSite=Strict" in headers["set-cookie"]
    cookie = headers["set-cookie"].split(";")[0]
    assert _get(explorer, "/static/app.js", headers={"Cookie": cookie})[0] == 200
    assert _get(explorer, "/static/app.js", headers={"Cookie": "glassnet_token=no"})[0] == 403


def test_a_foreign_host_is_refused_even_with_the_token(explorer):
    token = explorer["token"]
    status, _, body = _get(explorer, f"/?token={token}", host=f"evil.example:{explorer['port']}")
    assert status == 403 and b"Host header" in body
    assert _get(explorer, f"/?token={token}", host=f"localhost:{explorer['port']}")[0] == 200


def test_static_files_come_only_from_the_package(explorer):
    token = explorer["token"]
    for path in ("/static/../server.py", "/static/%2e%2e/server.py", "/static/..%2fserver.py",
                 "/static/index.html", "/static/session.py", "/../../etc/passwd"):
        assert _get(explorer, f"{path}?token={token}")[0] == 404, path


def test_the_websocket_checks_its_origin_and_token(explorer):
    port, token = explorer["port"], explorer["token"]
    url = f"ws://127.0.0.1:{port}/ws?token={token}"
    for bad_url, origin in ((url, "http://evil.example"), (url, f"http://127.0.0.1:{port + 1}"),
                            (f"ws://127.0.0.1:{port}/ws?token=wrong",
                             f"http://127.0.0.1:{port}")):
        with pytest.raises(InvalidStatus) as refused:
            connect(bad_url, origin=origin, open_timeout=10)
        assert refused.value.response.status_code == 403
    with connect(url, origin=f"http://127.0.0.1:{port}", open_timeout=10) as ws:
        hello = json.loads(ws.recv(timeout=20))
        assert hello["type"] == "hello" and hello["network"]["widths"] == [2, 8, 8, 2]
        ws.send(json.dumps({"op": "step", "what": "batch"}))
        assert json.loads(ws.recv(timeout=20)) == {"type": "state", "playing": False}
        frame = json.loads(ws.recv(timeout=20))
        assert frame["type"] == "frame" and frame["step"] == 1
        ws.send(json.dumps({"op": "neuron", "layer": 9, "unit": 0, "sample": 0}))
        assert "layer must be 0 to 2" in json.loads(ws.recv(timeout=20))["message"]
        ws.send("{not json")
        assert json.loads(ws.recv(timeout=20))["type"] == "error"
        ws.send(json.dumps({"op": "play"}))            # pulled: one frame per request
        seen = [json.loads(ws.recv(timeout=20)) for _ in range(2)]
        assert [m["type"] for m in seen] == ["state", "frame"] and seen[0]["playing"]
        for _ in range(3):
            ws.send(json.dumps({"op": "next"}))
            seen.append(json.loads(ws.recv(timeout=20)))
        ws.send(json.dumps({"op": "pause"}))           # the frame of the step it stops on
        last, state = json.loads(ws.recv(timeout=20)), json.loads(ws.recv(timeout=20))
        assert state == {"type": "state", "playing": False, "step": last["step"]}
        steps = [m["step"] for m in seen if m["type"] == "frame"]
        assert steps == sorted(steps) and steps[0] > 1 and last["step"] == steps[-1]
        with pytest.raises(TimeoutError):               # nothing more comes unasked
            ws.recv(timeout=0.5)
        upload = f"/api/upload?token={token}&session={hello['session']}&name=big.csv"
        status, _, body = _get(explorer, upload, method="POST", body=b"",
                               headers={"Content-Length": str(6 << 20)})
        assert status == 413 and b"at most 5,242,880 bytes" in body
        status, _, body = _get(explorer, upload.replace("big", "bad"), method="POST",
                               body=b"1,2,0\n1,,1\n")
        assert status == 400 and b"row 2, column 2 is empty" in body
        code = f"/api/download/code?token={token}&session={hello['session']}"
        status, _, body = _get(explorer, code)
        assert status == 200 and b"model.train_on_batch" in body
        status, headers, body = _get(explorer, code.replace("code?", "picture?") + "&name=warp")
        assert status == 200 and body[:4] == b"\x89PNG" and headers["content-type"] == "image/png"
        status, _, body = _get(explorer, code.replace("code?", "picture?") + "&name=nope")
        assert status == 400 and b"not available" in body
        status, _, body = _get(explorer, code.replace("code?", "model?"))
        assert status == 200
        with tempfile.TemporaryDirectory() as folder:              # it loads as it is
            path = os.path.join(folder, "page.glassnet")
            with open(path, "wb") as f:
                f.write(body)
            assert gn.load_model(path).count_params() == 114
    status, _, _ = _get(explorer, code)                  # the page closed: its session ended
    assert status == 404


def test_ctrl_c_stops_the_explorer_cleanly():
    process = subprocess.Popen([sys.executable, "-m", "glassnet", "explore", "--no-browser",
                                "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        line = process.stdout.readline()                 # blocks until the address prints
        assert line.startswith("glassnet explore: http://127.0.0.1:") and "?token=" in line
        url = line.split(": ", 1)[1].strip()
        port = int(url.split(":")[2].split("/")[0])
        token = url.split("token=")[1]
        with connect(f"ws://127.0.0.1:{port}/ws?token={token}",
                     origin=f"http://127.0.0.1:{port}", open_timeout=20) as ws:
            ws.recv(timeout=20)
            ws.send(json.dumps({"op": "play"}))                 # a job running, a page open
            ws.recv(timeout=20)
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "glassnet explore: stopped" in out


def test_explore_without_its_extra_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)          # as if not installed
    from glassnet.explore import explore
    with pytest.raises(ImportError, match=r"pip install 'glassnet\[explore\]'"):
        explore(port=0, open_browser=False)


# --- the page, in Chromium -----------------------------------------------------------------
@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


def _open(browser, url, errors, **options):
    """A page of the explorer whose console errors land in ``errors``, shown and drawn."""
    page = browser.new_page(**options)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function("window.glassnet && window.glassnet.frame", timeout=30000)
    return page


@pytest.mark.slow
def test_the_page_trains_resets_explains_takes_a_csv_and_hands_back_its_code(explorer, chromium,
                                                                             tmp_path):
    url = f"http://127.0.0.1:{explorer['port']}/?token={explorer['token']}"
    errors = []
    page = _open(chromium, url, errors, viewport={"width": 1400, "height": 1000},
                 accept_downloads=True)
    weights = "JSON.stringify(window.glassnet.frame.weights)"
    start = page.evaluate(weights)
    # Play on circles: the test loss falls under 0.1 within 60 s
    page.click("#play")
    page.wait_for_function("(() => { const h = window.glassnet.history; "
                           "return h.length > 2 && h[h.length - 1].test_loss < 0.1 })()",
                           timeout=60000)
    page.click("#play")                  # Pause: the page shows the step it stops on
    page.wait_for_function("window.glassnet.stoppedAt === window.glassnet.frame.step "
                           "&& !window.glassnet.pending", timeout=10000)
    played, steps = page.evaluate(weights), page.evaluate("window.glassnet.frame.step")
    replay = Session()                   # Play, however long it ran: the same
    for _ in range(steps):               # weights as the same steps in Python
        replay.step("batch")
    for drawn, W in zip(json.loads(played), replay.model.get_weights()[::2]):
        assert np.array_equal(np.array(drawn["W"], np.float32), W)
    # Reset: the same starting weights; the same steps: the same weights
    trained = []
    for _ in range(2):
        page.click("#reset")
        page.wait_for_function("window.glassnet.frame.step === 0", timeout=10000)
        assert page.evaluate(weights) == start
        for k in (1, 2):
            page.click("#step-epoch")
            page.wait_for_function(f"window.glassnet.frame.epoch === {k}",
                                   timeout=10000)
        trained.append(page.evaluate(weights))
    assert trained[0] == trained[1]
    python = Session()
    python.step("epoch")
    python.step("epoch")
    page_weights = json.loads(trained[0])
    for drawn, layer in zip(page_weights, [python.model.layers[i] for i in (0, 1, 2)]):
        assert np.array_equal(np.array(drawn["W"], np.float32), layer.params["W"])
    # the neuron panel's numbers are the engine's, for the same seeded run
    page.fill("#sample", "4")
    x, y = page.evaluate("window.glassnet.centre(0, 2)")   # layer 1, neuron 3
    page.mouse.click(x, y)
    page.wait_for_function("document.getElementById('neuron').dataset.z !== undefined",
                           timeout=10000)
    expected = views.neuron(python, 0, 2, sample=4)
    assert float(page.get_attribute("#neuron", "data-z")) == expected["z"]
    assert expected["equation"] in page.inner_text("#neuron")
    x, y = page.evaluate("window.glassnet.pointOn(1, 3, 5, 0.25)")   # W[3, 5] of layer 2
    page.mouse.click(x, y)
    page.wait_for_function("document.getElementById('weight').textContent"
                           ".includes('W[3, 5]')", timeout=10000)
    expected = views.weight(python, 1, 3, 5)
    assert f"value    {expected['value']!r}" in page.inner_text("#weight")
    # the code, run in a fresh process, reproduces the page's weights
    page.click(".tabs button[data-tab=takeaway]")
    with page.expect_download() as download:
        page.click("#download-code")
    download.value.save_as(tmp_path / "explored.py")
    with page.expect_download() as download:
        page.click("#download-model")
    download.value.save_as(tmp_path / "page.glassnet")
    page.click(".tabs button[data-tab=inside]")
    shot = page.screenshot(full_page=False)
    assert errors == []                      # no console errors so far
    # a bad CSV: its error in the page (and the browser logs the 400); a good one
    page.set_input_files("#upload", files=[{"name": "bad.csv", "mimeType": "text/csv",
                                            "buffer": b"x1,x2,label\n1,2,0\n3,,1\n"}])
    page.wait_for_function("!document.getElementById('error').hidden", timeout=10000)
    assert "row 3, column 2 is empty" in page.inner_text("#error")
    X, y = gn.datasets.make_blobs(150, centers=3, seed=2)
    csv = "\n".join(f"{a},{b},{c}" for (a, b), c in zip(X, y)).encode()
    page.set_input_files("#upload", files=[{"name": "mine.csv", "mimeType": "text/csv",
                                            "buffer": csv}])
    page.wait_for_function("window.glassnet.net.uploaded === 'mine.csv'",
                           timeout=10000)
    page.click("#step-epoch")
    page.wait_for_function("window.glassnet.frame.epoch === 1", timeout=10000)
    accuracy = page.evaluate("window.glassnet.frame.history.test_accuracy")
    assert accuracy > 0.8
    page.close()
    assert len(errors) == 1 and "400" in errors[0]
    weights = _run_code((tmp_path / "explored.py").read_text(), tmp_path)
    from_page = gn.load_model(str(tmp_path / "page.glassnet")).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(weights, from_page))
    pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"))
    assert pixels.std() > 5.0
    assert os.path.getsize(tmp_path / "page.glassnet") > 0


@pytest.mark.slow
def test_every_control_works_live_without_console_errors(explorer, chromium):
    url = f"http://127.0.0.1:{explorer['port']}/?token={explorer['token']}"
    errors = []
    page = _open(chromium, url, errors, viewport={"width": 1300, "height": 900})
    net = "window.glassnet.net"
    page.click("#step-epoch")
    page.wait_for_function("window.glassnet.frame.epoch === 1", timeout=20000)
    page.fill("#lr", "0.01")                        # live: the weights are kept
    page.dispatch_event("#lr", "change")
    page.wait_for_function(f"{net}.settings.learning_rate === 0.01", timeout=20000)
    assert page.evaluate("window.glassnet.frame.step") == 40
    assert "changed live at step 40" in page.inner_text("#note")
    page.fill("#lr", "-3")                          # refused: the field shows 0.01
    page.dispatch_event("#lr", "change")
    page.wait_for_function("!document.getElementById('error').hidden", timeout=20000)
    assert page.input_value("#lr") == "0.01"
    x, y = page.evaluate("window.glassnet.pointOn(1, 3, 5, 0.25)")   # hover, click
    page.mouse.move(x, y)
    page.wait_for_function("document.getElementById('tip').textContent"
                           ".includes('W[3, 5] of layer 2')", timeout=10000)
    assert "dL/dW" in page.inner_text("#tip")
    page.mouse.click(x, y)
    page.wait_for_function("!document.getElementById('weight-edit').hidden",
                           timeout=10000)
    boundary = page.evaluate("window.glassnet.frame.boundary.label.b64")
    page.fill("#weight-value", "-4")                # set by hand: the boundary moves
    page.click("#weight-set")
    page.wait_for_function("window.glassnet.frame.weights[1].W[3][5] === -4",
                           timeout=10000)
    assert page.evaluate("window.glassnet.frame.boundary.label.b64") != boundary
    assert "set to -4 at step 40" in page.inner_text("#note")
    page.click("#add-layer")                        # a new network, said so
    page.wait_for_function(f"{net}.widths.length === 5", timeout=20000)
    assert "a new network (layers changed)" in page.inner_text("#note")
    page.fill("[data-layer='2'][data-key=units]", "16")
    page.dispatch_event("[data-layer='2'][data-key=units]", "change")
    page.wait_for_function(f"{net}.widths[3] === 16", timeout=20000)
    page.select_option("[data-layer='0'][data-key=activation]", "relu")
    page.wait_for_function(f"{net}.activations[0] === 'relu'", timeout=20000)
    page.click("[data-remove='2']")
    page.wait_for_function(f"{net}.widths.length === 4", timeout=20000)
    page.check("[data-feature='x1^2']")
    page.wait_for_function(f"{net}.widths[0] === 3", timeout=20000)
    for name in ("moons", "spirals", "xor", "blobs", "digits", "plane", "waves",
                 "circles"):
        page.select_option("#data-name", name)
        page.wait_for_function(f"{net}.settings.data.name === '{name}'",
                               timeout=30000)
        page.click("#step-batch")
        page.wait_for_function("window.glassnet.frame.step === 1", timeout=20000)
        if name == "digits":
            assert page.is_visible("#boundary") and not page.is_visible("#predictions")
            page.fill("#conv", "3")                 # a convolution, maps per channel
            page.dispatch_event("#conv", "change")
            page.wait_for_function(f"{net}.settings.conv === 3 && "
                                   "window.glassnet.frame.conv", timeout=20000)
            assert page.evaluate(f"{net}.widths[0]") == 6 * 6 * 3
            box = page.locator("#conv-maps canvas[data-channel='1']").bounding_box()
            page.mouse.click(box["x"] + box["width"] * 3.5 / 6, box["y"] + 4)  # (0, 3)
            page.wait_for_function("document.getElementById('conv-cell').dataset.z",
                                   timeout=20000)
            text = page.inner_text("#conv-cell")
            assert "channel 2, cell (0, 3) of test digit 0" in text and "z = " in text
        if name == "plane":
            assert not page.is_visible("#accuracy-curve")
    page.click(".tabs button[data-tab=lessons]")
    for lesson_name, key, value in (("matrix", "w11", "2"), ("neuron", "b", "1.5")):
        page.fill(f"#{lesson_name}-sliders [data-key={key}]", value)
        page.dispatch_event(f"#{lesson_name}-sliders [data-key={key}]", "input")
    page.wait_for_function("document.getElementById('matrix-note').textContent"
                           ".startsWith('det W = 2.250')", timeout=20000)   # 2 * 1 + 0.25
    page.wait_for_function("document.getElementById('neuron-note').textContent"
                           ".includes('-1.500')", timeout=20000)            # -b / w
    page.select_option("#matrix-activation", "tanh")
    page.click("#backprop-next")
    page.fill("#softmax-sliders [data-key=temperature]", "3")
    page.dispatch_event("#softmax-sliders [data-key=temperature]", "input")
    page.wait_for_function("document.getElementById('softmax-note').textContent",
                           timeout=20000)
    page.click("#share")                             # the settings as a link
    link = page.evaluate("location.href")
    assert "#settings=" in link
    other = chromium.new_page(viewport={"width": 390, "height": 844})
    other.on("pageerror", lambda e: errors.append(str(e)))
    other.goto(link)
    other.wait_for_function("window.glassnet && window.glassnet.net && "
                            "window.glassnet.net.widths[0] === 3", timeout=30000)
    assert other.evaluate(f"{net}.settings") == page.evaluate(f"{net}.settings")
    X, y = gn.datasets.make_blobs(120, centers=3, seed=2)          # 4 features
    rows = "\n".join(f"{a},{b},{a * b},{a - b},{c}" for (a, b), c in zip(X, y))
    page.set_input_files("#upload", files=[{"name": "wide.csv", "mimeType": "text/csv",
                                            "buffer": rows.encode()}])
    page.wait_for_function(f"{net}.uploaded === 'wide.csv'", timeout=20000)
    assert page.is_visible("#predictions") and not page.is_visible("#boundary")
    assert "Test rows" in page.inner_text("#output-title")
    buffer = io.BytesIO()                                  # a .npy of numbers: regression
    np.save(buffer, np.c_[X, X[:, 0] * 0.3 - X[:, 1]])
    page.set_input_files("#upload", files=[{"name": "plane.npy", "buffer": buffer.getvalue(),
                                            "mimeType": "application/octet-stream"}])
    page.wait_for_function(f"{net}.uploaded === 'plane.npy' && {net}.classes === 0",
                           timeout=20000)
    assert page.input_value("#problem") == "regression" and page.is_visible("#boundary")
    assert page.inner_text("#error") == ""
    page.close()
    other.close()
    assert errors == []


def test_the_server_serves_a_bounded_number_of_pages(explorer):
    from glassnet.explore.server import MAX_PAGES
    port, token = explorer["port"], explorer["token"]
    url, origin = f"ws://127.0.0.1:{port}/ws?token={token}", f"http://127.0.0.1:{port}"
    with contextlib.ExitStack() as stack:
        pages = [stack.enter_context(connect(url, origin=origin, open_timeout=20))
                 for _ in range(MAX_PAGES)]
        for ws in pages:
            assert json.loads(ws.recv(timeout=30))["type"] == "hello"
        with connect(url, origin=origin, open_timeout=20) as extra:
            refusal = json.loads(extra.recv(timeout=20))
            assert refusal["type"] == "error" and f"already serves {MAX_PAGES} pages" in \
                refusal["message"]
    deadline = time.monotonic() + 20                 # closed pages free their places
    while True:
        with connect(url, origin=origin, open_timeout=20) as again:
            if json.loads(again.recv(timeout=30))["type"] == "hello":
                break
        assert time.monotonic() < deadline
        time.sleep(0.2)
