"""Taking a product image in: fetched, checked, kept in S3 before any provider credit is spent.

Providers fetch the product image from a short mediajobs link (``/p/<job id>``) that redirects
to a presigned S3 URL: Creatify's ``product_url`` allows only 200 characters and a presigned URL
is far longer.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import httpx

from mediajobs.fetching import UrlPolicy, fetch_image
from mediajobs.jobs.models import ProductImage

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}


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
    """Fetch ``url``, require a JPEG/PNG/WebP within ``max_bytes``, store it; raise the fetch errors."""
    fetched = fetch_image(http, url, policy, max_bytes=max_bytes)
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
