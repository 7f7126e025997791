"""The web console (a static single page) and the Swagger UI files of the docs page.

The page holds no secret: the user pastes an API key, and the page calls the ``/v1`` API from the
same origin with it. Files are served from an allowlist built from the folders at cold start, so
no request path ever reaches the file system.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path as PathParam
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from mediajobs.observability import logger, metrics, tracer

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
#: swagger-ui-dist (npm), linked into this folder so that it ships with the function
SWAGGER_UI = HERE / "swagger-ui"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
#: the names Powertools' docs page asks ``swagger_base_url`` for -> swagger-ui-dist's files
SWAGGER_FILES = {
    "swagger-ui-bundle.min.js": "swagger-ui-bundle.js",
    "swagger-ui.min.css": "swagger-ui.css",
    "favicon-32x32.png": "favicon-32x32.png",
}
#: the page may call its own origin and S3 (presigned POST, outputs' presigned URLs)
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data: blob:; "
    "media-src 'self' https: http: blob:; connect-src 'self' https: http:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str

    @classmethod
    def read(cls, path: Path) -> Asset:
        return cls(body=path.read_bytes(), content_type=CONTENT_TYPES[path.suffix])


def console_assets(folder: Path = STATIC) -> dict[str, Asset]:
    """The page's own files (index.html, console.js, console.css) by name."""
    return {p.name: Asset.read(p) for p in sorted(folder.iterdir()) if p.suffix in CONTENT_TYPES}


def swagger_assets(folder: Path = SWAGGER_UI) -> dict[str, Asset]:
    """Swagger UI's files under the names the docs page asks for; empty when not installed."""
    return {
        name: Asset.read(folder / file) for name, file in SWAGGER_FILES.items() if (folder / file).is_file()
    }


def _answer(asset: Asset, cache_control: str, headers: dict[str, str] | None = None) -> Response[Any]:
    text = asset.content_type.startswith(("text/", "application/"))
    return Response(
        status_code=200,
        content_type=asset.content_type,
        body=asset.body.decode() if text else asset.body,
        headers={"Cache-Control": cache_control, "X-Content-Type-Options": "nosniff"} | (headers or {}),
    )


def _not_found(what: str) -> Response[Any]:
    return Response(
        status_code=404,
        content_type=content_types.APPLICATION_JSON,
        body={"error": {"code": "not_found", "message": f"no such {what}"}},
    )


def build_app(
    console: dict[str, Asset] | None = None, swagger: dict[str, Asset] | None = None
) -> APIGatewayHttpResolver:
    pages = console_assets() if console is None else console
    swagger_files = swagger_assets() if swagger is None else swagger
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.get("/console", include_in_schema=False)
    def console_page() -> Response[Any]:
        # always revalidated: a new deployment's page and its scripts go together
        return _answer(pages["index.html"], "no-cache", {"Content-Security-Policy": CONSOLE_CSP})

    @app.get("/console/assets/<name>", include_in_schema=False, compress=True)
    def console_asset(name: Annotated[str, PathParam(max_length=64)]) -> Response[Any]:
        asset = pages.get(name)
        if asset is None or name == "index.html":
            return _not_found("console file")
        return _answer(asset, "no-cache")

    @app.get("/console/swagger-ui/<name>", include_in_schema=False, compress=True)
    def swagger_asset(name: Annotated[str, PathParam(max_length=64)]) -> Response[Any]:
        asset = swagger_files.get(name)
        if asset is None:
            return _not_found("Swagger UI file")
        return _answer(asset, "public, max-age=86400")

    return app


app = build_app()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
