"""A tiny shop on loopback: the sample product image and a product page, like a client's store.

The demo and the end-to-end tests point jobs at it (``image_url`` / ``page_url``) the way a real
client points mediajobs at its own shop. It also serves a text file, for "not an image" cases.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

from flask import Flask, Response
from PIL import Image
from werkzeug.serving import make_server

from local.http_front import StaticFile
from local.sandboxes.common import RunningServer

SAMPLE_PRODUCT = Path(__file__).parent / "assets" / "sample-product.png"
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}


def _encodings() -> dict[str, bytes]:
    image = Image.open(SAMPLE_PRODUCT).convert("RGBA")
    out: dict[str, bytes] = {"png": SAMPLE_PRODUCT.read_bytes()}
    for ext, fmt in (("jpg", "JPEG"), ("webp", "WEBP")):
        buffer = io.BytesIO()
        (image.convert("RGB") if fmt == "JPEG" else image).save(buffer, fmt, quality=90)
        out[ext] = buffer.getvalue()
    return out


def sample_files() -> dict[str, StaticFile]:
    """The sample product image as PNG, JPEG and WebP, by file name (what the local stack serves)."""
    return {f"product.{ext}": StaticFile(body, CONTENT_TYPES[ext]) for ext, body in _encodings().items()}


class SampleShop:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.images = _encodings()
        app = Flask("sample-shop")

        @app.get("/product.<ext>")
        def product(ext: str) -> Response:
            if ext not in self.images:
                return Response("not found", 404)
            return Response(self.images[ext], mimetype=CONTENT_TYPES[ext])

        @app.get("/page.html")
        def page() -> Response:
            html = (
                "<html><head><title>Aurora Water Bottle</title>"
                '<meta name="description" content="A 750 ml insulated bottle, cold for 24 hours.">'
                f'<meta property="og:image" content="{self.base_url}/product.jpg"></head>'
                "<body><h1>Aurora Water Bottle</h1></body></html>"
            )
            return Response(html, mimetype="text/html")

        @app.get("/not-an-image.txt")
        def text() -> Response:
            return Response("hello, I am text", mimetype="text/plain")

        server = make_server(host, port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        self.base_url = f"http://{host}:{server.server_port}"
        self.running = RunningServer(server, thread, self.base_url)

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    def stop(self) -> None:
        self.running.stop()
