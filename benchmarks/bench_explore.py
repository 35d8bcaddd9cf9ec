"""glassnet explore: how fast the page can follow training. A 2-8-8-2 network on 500
circles (the page's default), measured three ways, in alternating rounds (medians):

- step: one ``train_on_batch`` (batch 10), the loop the page runs;
- frame: what one frame costs to compute (train and test loss and accuracy, the 40x40
  boundary and every neuron's map in one batched forward pass, the weights) and its
  size as JSON;
- frames a second through the real server: a WebSocket client presses Play and counts
  the frames that arrive (each one: about 1/40 s of training, then a frame);
- frames a second drawn by the page itself in headless Chromium (boundary, every
  neuron's map, the weights, the curves), when Playwright and /usr/bin/chromium exist.

    python benchmarks/bench_explore.py [--rounds 5] [--seconds 3]
"""
import argparse
import json
import statistics
import threading
import time

from websockets.sync.client import connect

from glassnet.explore.server import listening_socket, server
from glassnet.explore.session import Session


def step_and_frame(repeats=200):
    session = Session()
    start = time.perf_counter()
    for _ in range(repeats):
        session._step()
    step = (time.perf_counter() - start) / repeats
    start = time.perf_counter()
    for _ in range(20):
        session._record()
        frame = session._frame()
    return step, (time.perf_counter() - start) / 20, len(json.dumps(frame))


def frames_per_second(port, token, seconds):
    with connect(f"ws://127.0.0.1:{port}/ws?token={token}",
                 origin=f"http://127.0.0.1:{port}", open_timeout=20) as ws:
        ws.recv(timeout=20)                                    # hello
        ws.send(json.dumps({"op": "play"}))
        frames, start = 0, None
        while True:
            message = json.loads(ws.recv(timeout=20))
            if message["type"] != "frame":
                continue
            if start is None:
                start = time.perf_counter()
                continue
            frames += 1
            if time.perf_counter() - start >= seconds:
                break
        elapsed = time.perf_counter() - start
        ws.send(json.dumps({"op": "pause"}))
    return frames / elapsed


def drawn_per_second(port, token, seconds):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"http://127.0.0.1:{port}/?token={token}")
        page.wait_for_function("window.glassnet && window.glassnet.frame")
        page.click("#play")
        page.wait_for_function("window.glassnet.playing")
        time.sleep(0.5)
        first = page.evaluate("window.glassnet.drawn")
        time.sleep(seconds)
        rate = (page.evaluate("window.glassnet.drawn") - first) / seconds
        page.click("#play")
        browser.close()
    return rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    sock = listening_socket(0)
    token = "benchmark"
    srv = server(sock, token)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.02)
    steps, frames, sizes, rates, drawn = [], [], [], [], []
    port = sock.getsockname()[1]
    for _ in range(args.rounds):                 # alternate: in-process, server, browser
        step, frame, size = step_and_frame()
        steps.append(step)
        frames.append(frame)
        sizes.append(size)
        rates.append(frames_per_second(port, token, args.seconds))
        drawn.append(drawn_per_second(port, token, args.seconds))
    srv.should_exit = True
    thread.join(10)
    print(f"2-8-8-2 on 500 circles, {args.rounds} rounds (medians)")
    print(f"  training step (batch 10):      {statistics.median(steps) * 1e3:7.3f} ms")
    print(f"  computing one frame:           {statistics.median(frames) * 1e3:7.3f} ms, "
          f"{statistics.median(sizes) / 1024:.0f} KiB as JSON")
    print(f"  frames a second, over the WebSocket while playing: "
          f"{statistics.median(rates):.1f} (target: at least 20)")
    print(f"  frames a second drawn by the page (headless Chromium): "
          f"{statistics.median(drawn):.1f}")


if __name__ == "__main__":
    main()
