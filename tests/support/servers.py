"""Small loopback servers the tests need: a product media host and a webhook receiver."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, Response, request
from local.sandboxes.common import RunningServer
from local.sandboxes.media import sample_product
from werkzeug.serving import make_server


def _encode(fmt: str) -> bytes:
    out = io.BytesIO()
    image = sample_product()
    (image.convert("RGB") if fmt == "JPEG" else image).save(out, fmt)
    return out.getvalue()


def _serve(app: Flask) -> RunningServer:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    return RunningServer(server, thread, f"http://127.0.0.1:{server.server_port}")


class MediaHost:
    """Serves a product in three formats, a product page pointing at it, and a file that is not an image."""

    def __init__(self) -> None:
        self.images = {"png": _encode("PNG"), "jpg": _encode("JPEG"), "webp": _encode("WEBP")}
        app = Flask("media-host")
        types = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}

        @app.get("/product.<ext>")
        def product(ext: str) -> Response:
            if ext not in self.images:
                return Response("not found", 404)
            return Response(self.images[ext], mimetype=types[ext])

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

        self.running = _serve(app)
        self.base_url = self.running.base_url

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    def stop(self) -> None:
        self.running.stop()


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class WebhookReceiver:
    """Records every POST; answers ``status`` (or the next of ``script``) to each."""

    status: int = 200
    script: list[int] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        app = Flask("webhook-receiver")

        @app.post("/<path:path>")
        def receive(path: str) -> Response:
            with self.lock:
                self.deliveries.append(
                    Delivery(
                        "/" + path,
                        {k.lower(): v for k, v in request.headers.items()},
                        request.get_data(),
                        time.time(),
                    )
                )
                status = self.script.pop(0) if self.script else self.status
            return Response("{}", status=status, mimetype="application/json")

        self.running = _serve(app)
        self.base_url = self.running.base_url

    def url(self, path: str = "hook") -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def wait_for(self, predicate: Callable[[list[Delivery]], bool], timeout: float = 30.0) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                snapshot = list(self.deliveries)
            if predicate(snapshot):
                return snapshot
            time.sleep(0.05)
        raise AssertionError(f"webhook condition not met in {timeout}s; got {len(snapshot)} deliveries")

    def stop(self) -> None:
        self.running.stop()
