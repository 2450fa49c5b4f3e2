"""The touchscreen capture app: a local web server (standard library) plus offline static assets."""

from .server import CaptureApp, make_server, serve

__all__ = ["CaptureApp", "make_server", "serve"]
