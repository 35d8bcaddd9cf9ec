"""``glassnet explore``: the network in a browser, live, on the real engine.

    glassnet explore [--port 8765] [--no-browser]

A local server (127.0.0.1 only, a token in the printed address) streams every number
the page draws from glassnet's engine over a WebSocket; the page (plain ES module and
canvas, shipped in this package) only draws. The server needs uvicorn and websockets:
``pip install 'glassnet[explore]'``.
"""
from .session import Session, export_code, lesson, regression_set

__all__ = ["Session", "export_code", "lesson", "regression_set", "explore"]


def explore(port=8765, open_browser=True, file=None):
    """Serve the explorer until Ctrl-C (see ``glassnet.explore.server``)."""
    from ..interop import requires
    requires("uvicorn", "explore")
    requires("websockets", "explore")
    from .server import explore as serve
    return serve(port, open_browser, file)
