"""glassnet explore: how closely the page follows training, in headless Chromium through
the real server, for three networks on 500 circles: 2-8-8-2 (the page's default), six
hidden layers of 8 and four of 32. In alternating rounds (medians):

- frames drawn a second by the page while playing (each frame: about 1/50 s of
  training, then the boundary, every shown neuron's map, the weights and the curves;
  the page asks for the next frame only after drawing the last);
- Pause-to-shown: from the click on Pause until the page has drawn the frame of the step
  the model stopped on (the step the downloads then hold);
- computing one frame in Python, and its size as JSON.

    python benchmarks/bench_explore.py [--rounds 3] [--seconds 3]

On a loaded 2-core machine OpenBLAS's idle threads spin against the page: run with
OPENBLAS_NUM_THREADS=1 (measured under a load average of 12: one frame of 4 x 32 took
28 ms with one thread against 137 ms without; Pause-to-shown for 6 x 8 170 ms).
"""
import argparse
import json
import statistics
import threading
import time
import urllib.parse

from glassnet.explore.server import listening_socket, server
from glassnet.explore.session import Session
from glassnet.explore.settings import DEFAULTS

NETWORKS = {"2-8-8-2": [8, 8], "6 x 8": [8] * 6, "4 x 32": [32] * 4}


def settings(widths):
    s = json.loads(json.dumps(DEFAULTS))
    s["layers"] = [{"units": n, "activation": "tanh", "dropout": 0.0, "batchnorm": False}
                   for n in widths]
    return s


def frame_cost(widths, repeats=20):
    session = Session(settings(widths))
    start = time.perf_counter()
    for _ in range(repeats):
        session._record()
        frame = session.frame()
    return (time.perf_counter() - start) / repeats, len(json.dumps(frame))


def in_page(browser, url, widths, seconds):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    link = url + "#settings=" + urllib.parse.quote(json.dumps(settings(widths)))
    page.goto(link)
    page.wait_for_function(f"window.glassnet && window.glassnet.net && "
                           f"window.glassnet.net.widths.length === {len(widths) + 2}")
    page.click("#play")
    page.wait_for_function("window.glassnet.frame.step > 0")
    time.sleep(0.5)
    first = page.evaluate("window.glassnet.drawn")
    time.sleep(seconds)
    rate = (page.evaluate("window.glassnet.drawn") - first) / seconds
    clicked = page.evaluate("(() => { const t = performance.now(); "
                            "document.getElementById('play').click(); return t; })()")
    page.wait_for_function("window.glassnet.stoppedAt === window.glassnet.frame.step && "
                           "!window.glassnet.pending")
    shown = page.evaluate("window.glassnet.shownAt")
    page.close()
    return rate, (shown - clicked) / 1000


def main():
    from playwright.sync_api import sync_playwright
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    sock = listening_socket(0)
    srv = server(sock, "benchmark")
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/?token=benchmark"
    results = {name: {"rate": [], "pause": [], "frame": [], "size": []} for name in NETWORKS}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu"])
        for _ in range(args.rounds):                  # alternate the networks
            for name, widths in NETWORKS.items():
                rate, pause = in_page(browser, url, widths, args.seconds)
                cost, size = frame_cost(widths)
                for key, value in (("rate", rate), ("pause", pause), ("frame", cost),
                                   ("size", size)):
                    results[name][key].append(value)
        browser.close()
    srv.should_exit = True
    thread.join(10)
    print(f"glassnet explore on 500 circles, {args.rounds} rounds (medians); targets for "
          f"6 x 8: at least 20 frames a second, Pause shown within 200 ms")
    print(f"  {'network':9} {'frames drawn/s':>15} {'Pause-to-shown':>15} {'one frame':>10} "
          f"{'JSON':>8}")
    for name, r in results.items():
        print(f"  {name:9} {statistics.median(r['rate']):15.1f} "
              f"{statistics.median(r['pause']) * 1e3:12.0f} ms "
              f"{statistics.median(r['frame']) * 1e3:7.1f} ms "
              f"{statistics.median(r['size']) / 1024:5.0f} KiB")


if __name__ == "__main__":
    main()
