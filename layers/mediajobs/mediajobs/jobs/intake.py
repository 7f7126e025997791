"""Taking a product image in: fetched, checked, kept in S3 before any provider credit is spent.

Providers fetch the product image from a short mediajobs link (``/p/<job id>``) that redirects
to a presigned S3 URL: Creatify's ``product_url`` allows only 200 characters and a presigned URL
is far longer.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import httpx

from mediajobs.errors import InvalidProductImageError, MediajobsError
from mediajobs.fetching import (
    FetchError,
    NotAnImageError,
    TooLargeError,
    UnsafeUrlError,
    UrlPolicy,
    fetch_image,
)
from mediajobs.jobs.models import ProductImage

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}


class IntakeRefusedError(InvalidProductImageError):
    """The product image cannot be used; ``code`` and ``message`` say why, for the client."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


def refusal(exc: MediajobsError, *, field: str, max_bytes: int) -> IntakeRefusedError:
    """The client-facing reason for a fetch failure of the product image."""
    if isinstance(exc, UnsafeUrlError):
        return IntakeRefusedError("unsafe_url", f"{field} is not allowed: {exc}")
    if isinstance(exc, TooLargeError):
        return IntakeRefusedError(
            "product_image_too_large", f"{field} is larger than {max_bytes // (1024 * 1024)} MB"
        )
    if isinstance(exc, NotAnImageError):
        return IntakeRefusedError("invalid_product_image", f"{field} is not a JPEG, PNG or WebP image: {exc}")
    return IntakeRefusedError("product_image_unreachable", f"{field} could not be fetched: {exc}")


def product_image_key(job_id: str, image_format: str) -> str:
    return f"inputs/{job_id}/product.{EXTENSIONS[image_format]}"


def take_in_product_image(
    *,
    http: httpx.Client,
    s3: S3Client,
    bucket: str,
    job_id: str,
    url: str,
    policy: UrlPolicy,
    max_bytes: int,
) -> ProductImage:
    """Fetch ``url``, require a JPEG/PNG/WebP within ``max_bytes``, store it.

    Raises :class:`IntakeRefusedError` with a client-facing code when the image cannot be used.
    """
    try:
        fetched = fetch_image(http, url, policy, max_bytes=max_bytes)
    except (UnsafeUrlError, TooLargeError, NotAnImageError, FetchError) as exc:
        raise refusal(exc, field="product.image_url", max_bytes=max_bytes) from exc
    key = product_image_key(job_id, fetched.info.format)
    digest = hashlib.sha256(fetched.data).hexdigest()
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=fetched.data,
        ContentType=fetched.info.content_type,
        ChecksumAlgorithm="SHA256",
        Metadata={"sha256": digest},
    )
    return ProductImage(
        s3_key=key,
        content_type=fetched.info.content_type,
        bytes=len(fetched.data),
        width=fetched.info.width,
        height=fetched.info.height,
        sha256=digest,
    )
