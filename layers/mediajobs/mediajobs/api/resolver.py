"""The HTTP resolver both edges use: Powertools' HTTP API resolver, with the request id in errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediajobs.api.bodies import parse_json
from mediajobs.api.errors import request_id_of, with_request_id


class EnvelopedResolver(APIGatewayHttpResolver):
    """Bodies parsed by :func:`mediajobs.api.bodies.parse_json`; every error answer names its request."""

    def __init__(self, *, enable_validation: bool = False) -> None:
        super().__init__(enable_validation=enable_validation, json_body_deserializer=parse_json)

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        return with_request_id(super().resolve(event, context), request_id_of(event))
