"""The messages between the page (or the notebook widget) and a session, answered the
same way over the server's WebSocket and the widget's comm channel.

The page asks for one frame at a time: while playing it sends ``next`` after it has drawn
the last frame, so frames never queue (backpressure), and Pause, Step or a click is
answered after at most one chunk of training. ``pause`` answers with the frame of the
step the model is at: the page, the downloaded model and the downloaded code agree."""
import base64
import binascii
import json
import math

from . import views
from .settings import UPLOAD, SettingsError

CHUNK = 1 / 50                    # seconds of training per frame while playing
LOOKS = {"neuron": (views.neuron, ("layer", "unit", "sample")),
         "weight": (views.weight, ("layer", "row", "column")),
         "trace": (views.trace_text, ()), "warp": (views.warp, ("layer",)),
         "heatmaps": (views.heatmaps, ()),
         "conv": (views.conv_cell, ("channel", "row", "column", "sample"))}


def answer(session, request):
    """The messages that answer one request (a dict from the page), in order. Errors the
    page should show come back as {"type": "error", "message": ...}."""
    try:
        op = request.get("op") if isinstance(request, dict) else None
        if op == "hello":
            return [{"type": "hello", "network": session.describe()}]
        if op == "next" or op == "play":
            frame = session.play_chunk(CHUNK)
            out = [{"type": "state", "playing": True}] if op == "play" else []
            out.append(frame)
            if frame["diverged"]:
                out.append({"type": "state", "playing": False,
                            "message": "the loss became NaN or infinite; the last step was "
                                       "undone. Lower the learning rate."})
            return out
        if op == "pause":
            with session.lock:
                frame = session.frame()
            return [frame, {"type": "state", "playing": False, "step": frame["step"]}]
        if op == "configure":
            return [{"type": "state", "playing": False},
                    session.configure(request.get("settings"))]
        if op == "reset":
            return [{"type": "state", "playing": False}, session.reset()]
        if op == "set_weight":
            if request.get("generation", session.generation) != session.generation:
                return []
            frame = session.set_weight(*[request.get(k) for k in ("layer", "row", "column",
                                                                     "value")])
            return [frame, {"type": "note", "message": session.note}]
        if op == "step":
            return [{"type": "state", "playing": False},
                    session.step(request.get("what", "batch"))]
        if op in LOOKS:
            call, args = LOOKS[op]
            if request.get("generation", session.generation) != session.generation:
                return []                  # asked about a network that has been replaced
            return [{**call(session, *[request.get(a) for a in args]),
                     "generation": session.generation}]
        if op == "lesson":
            return [views.lesson(request.get("name"), request.get("values") or {})]
        if op == "upload":                 # the widget's way; the page posts over HTTP
            body = request.get("b64")
            if not isinstance(body, str) or len(body) > UPLOAD["bytes"] * 4 // 3 + 4:
                raise SettingsError(f"upload: at most {UPLOAD['bytes']:,} bytes.")
            try:
                data = base64.b64decode(body, validate=True)
            except binascii.Error:
                raise SettingsError("upload: the file did not arrive whole; try again.") \
                    from None
            return [{"type": "uploaded", **session.upload(str(request.get("name")), data)}]
        if op == "download":
            name, kind, data = download(session, request.get("what"), request.get("name"))
            return [{"type": "download", "name": name, "mime": kind,
                     "b64": base64.b64encode(data).decode("ascii")}]
        raise SettingsError(f"unknown request {op!r}")
    except (ValueError, TypeError) as error:
        return [{"type": "error", "message": str(error)}]


def download(session, what, picture=None):
    """(file name, MIME type, bytes) of a download: the model, the code, or a picture."""
    if what == "model":
        return "explored.glassnet", "application/octet-stream", session.model_bytes()
    if what == "code":
        return "explored.py", "text/x-python", session.code().encode()
    if what == "picture":
        return f"{picture}.png", "image/png", views.picture(session, picture)
    raise SettingsError(f"download: what must be model, code or picture, got {what!r}.")


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def encode(message):
    """JSON for the page, never with NaN or Infinity (JSON has neither; a page that got
    one would stop): such a number becomes null."""
    try:
        return json.dumps(message, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(message), allow_nan=False)
