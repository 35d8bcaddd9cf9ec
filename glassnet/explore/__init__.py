"""``glassnet explore``: the network live, on the real engine, in a browser page or
inline in a notebook.

    glassnet explore [--port 8765] [--no-browser]      # a page, served on 127.0.0.1
    gn.explore(X, y)                                   # the same explorer in Jupyter

The page and the notebook widget are one JavaScript module (``static/app.js``); behind
them a ``Session`` holds the data, the model and its training, and every number drawn is
the engine's. The server needs uvicorn and websockets, the widget anywidget:
``pip install 'glassnet[explore]'``. See docs/explore.md.
"""
import sys
import types

from .code import export_code
from .session import Session
from .settings import regression_set
from .views import lesson

__all__ = ["Session", "explore", "export_code", "lesson", "notebook", "regression_set"]


def explore(port=8765, open_browser=True, file=None):
    """Serve the explorer until Ctrl-C (see ``glassnet.explore.server``)."""
    from ..interop import requires
    requires("uvicorn", "explore")
    requires("websockets", "explore")
    from .server import explore as serve
    return serve(port, open_browser, file)


def notebook(X=None, y=None, model=None, **settings):
    """The explorer inline in a notebook, trained by this kernel (see
    ``glassnet.explore.widget.Explorer``); ``gn.explore(...)`` calls this."""
    from ..interop import requires
    requires("anywidget", "explore")
    from .widget import Explorer
    return Explorer(X, y, model, **settings)


class _Callable(types.ModuleType):
    """``gn.explore(X, y)`` shows the widget; ``glassnet.explore`` stays this package."""

    def __call__(self, X=None, y=None, model=None, **settings):
        return notebook(X, y, model, **settings)


sys.modules[__name__].__class__ = _Callable
