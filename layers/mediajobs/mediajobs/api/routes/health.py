"""``GET /v1/health``: whether the API answers at all; no API key needed (load balancers, scripts).

It touches no table or provider: a 200 says the function runs and routes requests. It is left out
of the OpenAPI document, whose operations all need a key.
"""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel, ConfigDict

HEALTH_PATH = "/v1/health"


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["ok"] = "ok"


def register(app: APIGatewayHttpResolver) -> None:
    @app.get(HEALTH_PATH, summary="The API answers", include_in_schema=False)
    def health() -> Health:
        return Health()
