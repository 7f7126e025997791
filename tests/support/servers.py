"""Small loopback servers the tests need: the sample shop (product media) and a webhook receiver."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, Response, request
from local.sample_shop import SampleShop
from local.sandboxes.common import RunningServer
from werkzeug.serving import make_server


def _serve(app: Flask) -> RunningServer:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    return RunningServer(server, thread, f"http://127.0.0.1:{server.server_port}")


#: the product images, a product page and a text file, served on loopback
MediaHost = SampleShop


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
