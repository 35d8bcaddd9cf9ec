"""The explorer's server: one page, one WebSocket per page, the engine behind it.

Safe by construction: it listens on 127.0.0.1 only; every request and WebSocket must
carry the random token printed in the address (in the URL, or in the cookie the page
receives with it); the Host header must name this server on 127.0.0.1 or localhost
(a DNS-rebinding page cannot), and a WebSocket's Origin must be the page's own; static
files come from a fixed list inside the package (no paths from the request); uploads
are refused by their declared size before anything is read, and cut off when the body
grows past it. Bounded: at most MAX_PAGES pages at once (each page's state is freed when
it closes), and a page trains only when it asks for its next frame (``protocol``), so
nothing runs for a page that is gone or paused."""
import asyncio
import gc
import hmac
import json
import os
import secrets
import socket
import sys
import webbrowser
from http.cookies import CookieError, SimpleCookie
from importlib import resources
from urllib.parse import parse_qs

from . import protocol
from .session import Session
from .settings import UPLOAD, SettingsError

STATIC = {"app.js": "text/javascript", "style.css": "text/css"}   # nothing else is served
COOKIE = "glassnet_token"
MAX_MESSAGE = 1 << 20                      # a WebSocket message from the page: 1 MiB
MAX_PAGES = 4                              # pages open at once (each up to ~300 MB)


def _static(name):
    return resources.files("glassnet.explore").joinpath("static", name).read_bytes()


class Explorer:
    """The ASGI application: ``Explorer(token, port)`` serves on 127.0.0.1:port."""

    def __init__(self, token, port):
        self.token, self.port = token, port
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self.origins = {f"http://{host}" for host in self.hosts}
        self.sessions = {}

    # --- the gate every request passes -------------------------------------------------
    def _refusal(self, scope):
        """Why this request is refused (403), or None."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        if headers.get("host") not in self.hosts:
            return "the Host header does not name this server (127.0.0.1 or localhost)"
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = (query.get("token") or [""])[0]
        if not given and "cookie" in headers:
            cookie = SimpleCookie()
            try:
                cookie.load(headers["cookie"])
            except CookieError:
                cookie = {}
            given = cookie[COOKIE].value if COOKIE in cookie else ""
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return "missing or wrong token: open the address glassnet explore printed"
        if scope["type"] == "websocket" and headers.get("origin") not in self.origins:
            return "the WebSocket's Origin is not this page"
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        refusal = self._refusal(scope)
        if scope["type"] == "websocket":
            if refusal:
                await receive()                                   # websocket.connect
                await send({"type": "websocket.close", "code": 1008})   # -> HTTP 403
                return
            return await self._websocket(scope, receive, send)
        if refusal:
            return await _respond(send, 403, {"error": refusal})
        return await self._http(scope, receive, send)

    # --- HTTP ------------------------------------------------------------------------------
    async def _http(self, scope, receive, send):
        path, method = scope["path"], scope["method"]
        query = {k: v[0] for k, v in
                 parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}
        if path == "/" and method == "GET":
            page = _static("index.html")
            cookie = f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"
            return await _respond(send, 200, page, "text/html; charset=utf-8",
                                  [(b"set-cookie", cookie.encode())])
        if path.startswith("/static/") and method == "GET":
            name = path[len("/static/"):]
            if name in STATIC:
                return await _respond(send, 200, _static(name), STATIC[name])
            return await _respond(send, 404, {"error": "no such file"})
        session = self.sessions.get(query.get("session", ""))
        if path == "/api/upload" and method == "POST":
            if session is None:
                return await _respond(send, 404, {"error": "no such page session"})
            return await self._upload(scope, receive, send, session, query.get("name", ""))
        if path.startswith("/api/download/") and method == "GET":
            if session is None:
                return await _respond(send, 404, {"error": "no such page session"})
            what = path[len("/api/download/"):]
            if what not in ("model", "code", "picture"):
                return await _respond(send, 404, {"error": "no such download"})
            try:                                   # off the event loop: it waits for the
                name, kind, body = await asyncio.to_thread(   # page's lock
                    protocol.download, session, what, query.get("name", ""))
            except SettingsError as error:
                return await _respond(send, 400, {"error": str(error)})
            return await _respond(send, 200, body, kind, [(
                b"content-disposition", f'attachment; filename="{name}"'.encode())])
        return await _respond(send, 404, {"error": "not found"})

    async def _upload(self, scope, receive, send, session, name):
        cap = UPLOAD["bytes"]
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length", b"")
        if not declared.isdigit():
            return await _respond(send, 411, {"error": "upload: send the file's length "
                                                        "(Content-Length)."})
        if int(declared) > cap:
            return await _respond(send, 413, {"error": f"upload: the file has "
                                                       f"{int(declared):,} bytes; the explorer "
                                                       f"takes at most {cap:,} bytes "
                                                       f"({cap >> 20} MiB)."})
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > cap:
                return await _respond(send, 413, {"error": "upload: the body is larger than "
                                                           "its declared length."})
            if not message.get("more_body"):
                break
        try:
            info = await asyncio.to_thread(session.upload, os.path.basename(name), bytes(body))
        except ValueError as error:
            return await _respond(send, 400, {"error": str(error)})
        return await _respond(send, 200, info)

    # --- the page's WebSocket ------------------------------------------------------------
    async def _websocket(self, scope, receive, send):
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})

        async def say(data):
            await send({"type": "websocket.send", "text": protocol.encode(data)})

        if len(self.sessions) >= MAX_PAGES:
            await say({"type": "error", "message": f"this explorer already serves "
                                                   f"{MAX_PAGES} pages; close one and "
                                                   f"reload."})
            await send({"type": "websocket.close", "code": 1013})
            return
        session_id = secrets.token_urlsafe(12)
        self.sessions[session_id] = None           # the place is taken while it builds
        try:
            session = await asyncio.to_thread(Session)
            self.sessions[session_id] = session
            hello = await asyncio.to_thread(protocol.answer, session, {"op": "hello"})
            await say({**hello[0], "session": session_id})
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text") or ""
                if len(text) > MAX_MESSAGE:
                    await say({"type": "error", "message": "message too large"})
                    continue
                try:
                    request = json.loads(text)
                except ValueError as error:
                    await say({"type": "error", "message": f"not JSON: {error}"})
                    continue
                for reply in await asyncio.to_thread(protocol.answer, session, request):
                    await say(reply)
        finally:
            self.sessions.pop(session_id, None)
            session = None
            gc.collect()                            # the page's arrays go back now

async def _respond(send, status, body, kind="application/json", extra=()):
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind.encode()),
                            (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store"),
                            (b"x-content-type-options", b"nosniff"), *extra]})
    await send({"type": "http.response.body", "body": body})


def listening_socket(port=0):
    """A socket bound to 127.0.0.1 (never another interface); port 0 picks a free one."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)                  # connections queue from now on: the address works
    return sock                       # as soon as it is printed


def server(sock, token):
    """A uvicorn server for the explorer on ``sock``."""
    import uvicorn
    port = sock.getsockname()[1]
    config = uvicorn.Config(Explorer(token, port), log_level="warning", proxy_headers=False,
                            server_header=False, ws_max_size=MAX_MESSAGE,
                            timeout_graceful_shutdown=2, lifespan="on")
    return uvicorn.Server(config)


def explore(port=8765, open_browser=True, file=None):
    """Start the explorer on 127.0.0.1:port, print its address (with a fresh token) and
    open the browser; serve until Ctrl-C."""
    file = file or sys.stdout
    sock = listening_socket(port)
    token = secrets.token_urlsafe(24)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/?token={token}"
    print(f"glassnet explore: {url}\n(only this machine can open it; Ctrl-C stops it)",
          file=file, flush=True)
    if open_browser:
        webbrowser.open(url)
    try:
        server(sock, token).run(sockets=[sock])
    except KeyboardInterrupt:          # uvicorn shuts down cleanly, then passes Ctrl-C on
        pass
    print("glassnet explore: stopped", file=file, flush=True)
    return 0
