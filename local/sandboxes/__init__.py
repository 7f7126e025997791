"""Provider sandboxes: Creatify, JoggAI and ProdVisual as their documents describe them, on loopback."""

from __future__ import annotations

from dataclasses import dataclass, field

from local.sandboxes.common import RunningServer, Sandbox
from local.sandboxes.creatify import CreatifySandbox, CreatifySettings
from local.sandboxes.jogg import JoggSandbox, JoggSettings
from local.sandboxes.prodvisual import ProdVisualSandbox, ProdVisualSettings

DEFAULT_PORTS = {"creatify": 8701, "jogg": 8702, "prodvisual": 8703}


@dataclass
class Sandboxes:
    """The three sandboxes, served; ``stop()`` stops them all."""

    creatify: CreatifySandbox
    jogg: JoggSandbox
    prodvisual: ProdVisualSandbox
    servers: list[RunningServer] = field(default_factory=list)

    def all(self) -> dict[str, Sandbox]:
        return {"creatify": self.creatify, "jogg": self.jogg, "prodvisual": self.prodvisual}

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers.clear()


def start_sandboxes(
    ports: dict[str, int] | None = None,
    *,
    host: str = "127.0.0.1",
    creatify: CreatifySettings | None = None,
    jogg: JoggSettings | None = None,
    prodvisual: ProdVisualSettings | None = None,
) -> Sandboxes:
    """Serve all three; ``ports`` default to 0 (any free port) for each provider not named."""
    chosen = ports or {}
    sandboxes = Sandboxes(CreatifySandbox(creatify), JoggSandbox(jogg), ProdVisualSandbox(prodvisual))
    for name, sandbox in sandboxes.all().items():
        sandboxes.servers.append(sandbox.serve(host, chosen.get(name, 0)))
    return sandboxes


def credentials_text(sandboxes: Sandboxes) -> str:
    c, j, p = sandboxes.creatify.settings, sandboxes.jogg.settings, sandboxes.prodvisual.settings
    return "\n".join(
        [
            f"Creatify    {sandboxes.creatify.base_url}  X-API-ID: {c.api_id}  X-API-KEY: {c.api_key}",
            f"JoggAI      {sandboxes.jogg.base_url}  x-api-key: {j.api_key}  webhook: {j.webhook_secret}",
            f"ProdVisual  {sandboxes.prodvisual.base_url}  Authorization: Bearer {p.api_key}",
        ]
    )
