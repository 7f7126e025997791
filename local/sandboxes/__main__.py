"""``make sandboxes``: serve the three provider sandboxes on 127.0.0.1 until stopped.

Ports: CREATIFY_SANDBOX_PORT (8701), JOGG_SANDBOX_PORT (8702), PRODVISUAL_SANDBOX_PORT (8703).
Fault knobs and logs: ``POST /_sandbox/config``, ``GET /_sandbox/requests``, ``GET /_sandbox/webhooks``.
"""

from __future__ import annotations

import os
import signal
import threading

from local.sandboxes import DEFAULT_PORTS, credentials_text, start_sandboxes


def main() -> None:
    ports = {
        name: int(os.environ.get(f"{name.upper()}_SANDBOX_PORT", port))
        for name, port in DEFAULT_PORTS.items()
    }
    sandboxes = start_sandboxes(ports)
    print("Provider sandboxes are serving (Ctrl-C to stop):")
    print(credentials_text(sandboxes))
    print(
        "Admin: POST <base>/_sandbox/config  GET <base>/_sandbox/requests  GET <base>/_sandbox/webhooks",
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    sandboxes.stop()


if __name__ == "__main__":
    main()
