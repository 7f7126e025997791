"""Keep a permanent copy of one provider output in S3, streamed, in bounded memory.

The body is read from the provider URL (through :func:`mediajobs.fetching.open_stream`, so the URL
policy applies to it and to every redirect) and written to S3 one part at a time: at most one part
is held in memory whatever the size of the file. A body that fits in one part is written with a
single ``PutObject``; a larger one with a multipart upload whose parts S3 checks against their
SHA-256, then copied onto itself to record the whole-object SHA-256 (known only at the end) in the
object's metadata. Any failure aborts the multipart upload and leaves no object behind.

Afterwards the stored object is measured: an image from the header in its first bytes, an MP4 by
walking its boxes with ranged reads of the stored object (so a ``moov`` at the end costs a few small
requests, not a second download).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

import httpx
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from mediajobs.errors import MediajobsError
from mediajobs.fetching import Download, UrlPolicy, open_stream
from mediajobs.media_probe import (
    ImageInfo,
    MediaProbeError,
    VideoInfo,
    looks_like_mp4,
    probe_mp4,
    sniff_image,
)
from mediajobs.observability import logger, redact

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

MIB: Final = 1024 * 1024
#: S3's smallest part (every part but the last)
MIN_PART_SIZE: Final = 5 * MIB
DEFAULT_PART_SIZE: Final = 8 * MIB
#: S3's most parts in one upload
MAX_PARTS: Final = 10_000
#: the largest object ``CopyObject`` can copy, which recording the checksum needs
MAX_ARCHIVE_BYTES: Final = 5 * 1024 * MIB
_READ_CHUNK: Final = 256 * 1024
_GENERIC_TYPES: Final = frozenset({"application/octet-stream", "binary/octet-stream"})


class ArchiveError(MediajobsError):
    """The output could not be stored: empty, or S3 refused a request."""


class ArchivedObject(BaseModel):
    """A stored output: where it is, what it is and how to check it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bucket: str
    key: str
    content_type: str
    bytes: int
    sha256: str
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    codec: str | None = None


def archive_url(
    *,
    s3_client: S3Client,
    http_client: httpx.Client,
    url: str,
    bucket: str,
    key: str,
    policy: UrlPolicy,
    max_bytes: int,
    part_size: int = DEFAULT_PART_SIZE,
    content_type_hint: str | None = None,
    timeout: httpx.Timeout | float | None = None,
) -> ArchivedObject:
    """Stream ``url`` into ``s3://bucket/key`` and describe what was stored.

    Holds about one ``part_size`` of the body in memory at a time. The content type is sniffed
    from the first bytes (JPEG, PNG, WebP, MP4), else taken from the response, else from
    ``content_type_hint``. Running it twice for the same key overwrites the object. Raises the
    errors of :func:`~mediajobs.fetching.open_stream`, :class:`ArchiveError` (empty body, S3
    failure) and :class:`~mediajobs.media_probe.MediaProbeError` (an MP4 that cannot be read, which
    is then deleted again).
    """
    if part_size < MIN_PART_SIZE:
        raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (the S3 minimum)")
    if not 0 < max_bytes <= min(MAX_ARCHIVE_BYTES, part_size * MAX_PARTS):
        raise ValueError(f"max_bytes must be between 1 and {min(MAX_ARCHIVE_BYTES, part_size * MAX_PARTS)}")
    target = _Target(s3_client, bucket, key)
    with open_stream(http_client, url, policy, max_bytes=max_bytes, timeout=timeout) as download:
        writer = _Writer(target, download.content_type, content_type_hint)
        try:
            for part, last in _parts(download, part_size):
                writer.add(part, last=last)
                del part  # let it go before the next one is gathered
            stored = writer.finish()
        except BaseException:
            writer.abort()
            raise
    logger.info(
        "archived provider output",
        extra={"source": redact(url), "bucket": bucket, "key": key, "bytes": stored.size},
    )
    try:
        return _describe(target, stored)
    except MediaProbeError:
        target.delete_quietly()
        raise


def _parts(download: Download, part_size: int) -> Iterator[tuple[bytes, bool]]:
    """``(part, is_last)``: the body cut into parts of exactly ``part_size``, the last one shorter.

    A full part is handed on only once the next byte has arrived, so the last part is always
    known to be the last (and a body of exactly one part can still be written in one request).
    Nothing here keeps a reference to a part once it is handed on.
    """
    pending: list[bytes] = []
    pending_size = 0
    for received in download.iter_bytes(min(_READ_CHUNK, part_size)):
        chunk = received
        while chunk:
            if pending_size == part_size:
                yield _take(pending), False
                pending_size = 0
            room = part_size - pending_size
            piece, chunk = (chunk, b"") if len(chunk) <= room else (chunk[:room], chunk[room:])
            pending.append(piece)
            pending_size += len(piece)
    if pending:
        yield _take(pending), True


def _take(pending: list[bytes]) -> bytes:
    joined = b"".join(pending)
    pending.clear()
    return joined


class _Stored:
    """What the writer learned while streaming."""

    def __init__(
        self, *, size: int, sha256: str, content_type: str, image: ImageInfo | None, is_mp4: bool, etag: str
    ) -> None:
        self.size = size
        self.sha256 = sha256
        self.content_type = content_type
        self.image = image
        self.is_mp4 = is_mp4
        self.etag = etag


class _Target:
    """The S3 object being written, with S3 failures turned into :class:`ArchiveError`."""

    def __init__(self, s3_client: S3Client, bucket: str, key: str) -> None:
        self.s3 = s3_client
        self.bucket = bucket
        self.key = key

    def failed(self, operation: str, exc: ClientError | BotoCoreError) -> ArchiveError:
        code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
        detail = f"{code}: {exc}" if code else str(exc)
        logger.warning(
            "S3 request failed", extra={"operation": operation, "bucket": self.bucket, "key": self.key}
        )
        return ArchiveError(f"S3 {operation} failed for s3://{self.bucket}/{self.key}: {detail}")

    def read_range(self, offset: int, length: int, etag: str) -> bytes:
        if length <= 0:
            return b""
        try:
            response = self.s3.get_object(
                Bucket=self.bucket,
                Key=self.key,
                Range=f"bytes={offset}-{offset + length - 1}",
                IfMatch=etag,
            )
            return response["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise self.failed("GetObject", exc) from exc

    def delete_quietly(self) -> None:
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=self.key)
        except (ClientError, BotoCoreError):
            logger.exception(
                "could not delete a failed archive", extra={"bucket": self.bucket, "key": self.key}
            )


class _Writer:
    """Writes parts as they come: one ``PutObject`` if there is only one, else a multipart upload."""

    def __init__(self, target: _Target, served_type: str | None, hint: str | None) -> None:
        self.target = target
        self.served_type = served_type
        self.hint = hint
        self.hasher = hashlib.sha256()
        self.size = 0
        self.image: ImageInfo | None = None
        self.is_mp4 = False
        self.content_type = ""
        self.upload_id: str | None = None
        self.parts: list[CompletedPartTypeDef] = []
        self.completed = False
        self.etag = ""

    def add(self, part: bytes, *, last: bool) -> None:
        if self.size == 0:
            self.image = sniff_image(part)
            self.is_mp4 = self.image is None and looks_like_mp4(part)
            self.content_type = _content_type(self.image, self.is_mp4, self.served_type, self.hint)
        self.hasher.update(part)
        self.size += len(part)
        if not last:
            self._upload_part(part)
        elif self.upload_id is None:
            self.etag = self._put(part, self.hasher.digest())
        else:
            self._upload_part(part)
            self.etag = self._complete(self.hasher.digest())

    def finish(self) -> _Stored:
        if self.size == 0:
            raise ArchiveError(
                f"nothing to archive at s3://{self.target.bucket}/{self.target.key}: the body was empty"
            )
        if not self.completed:
            raise ArchiveError("the download ended before its last part")  # _parts always marks one
        return _Stored(
            size=self.size,
            sha256=self.hasher.hexdigest(),
            content_type=self.content_type,
            image=self.image,
            is_mp4=self.is_mp4,
            etag=self.etag,
        )

    def abort(self) -> None:
        """Undo whatever was written; never raises (the original failure matters more)."""
        target = self.target
        if self.completed:
            target.delete_quietly()
            return
        if self.upload_id is None:
            return
        try:
            target.s3.abort_multipart_upload(Bucket=target.bucket, Key=target.key, UploadId=self.upload_id)
        except (ClientError, BotoCoreError):
            logger.exception(
                "could not abort a multipart upload",
                extra={"bucket": target.bucket, "key": target.key, "upload_id": self.upload_id},
            )

    def _put(self, body: bytes, digest: bytes) -> str:
        target = self.target
        try:
            response = target.s3.put_object(
                Bucket=target.bucket,
                Key=target.key,
                Body=body,
                ContentType=self.content_type,
                Metadata={"sha256": digest.hex()},
                ChecksumSHA256=base64.b64encode(digest).decode("ascii"),
            )
        except (ClientError, BotoCoreError) as exc:
            raise target.failed("PutObject", exc) from exc
        self.completed = True
        return response["ETag"]

    def _upload_part(self, body: bytes) -> None:
        target = self.target
        try:
            if self.upload_id is None:
                created = target.s3.create_multipart_upload(
                    Bucket=target.bucket,
                    Key=target.key,
                    ContentType=self.content_type,
                    ChecksumAlgorithm="SHA256",
                )
                self.upload_id = created["UploadId"]
            number = len(self.parts) + 1
            checksum = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
            response = target.s3.upload_part(
                Bucket=target.bucket,
                Key=target.key,
                UploadId=self.upload_id,
                PartNumber=number,
                Body=body,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=checksum,
            )
        except (ClientError, BotoCoreError) as exc:
            raise target.failed("UploadPart", exc) from exc
        self.parts.append({"PartNumber": number, "ETag": response["ETag"], "ChecksumSHA256": checksum})

    def _complete(self, digest: bytes) -> str:
        target = self.target
        assert self.upload_id is not None  # noqa: S101 - only called after a part went up
        try:
            target.s3.complete_multipart_upload(
                Bucket=target.bucket,
                Key=target.key,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": self.parts},
            )
        except (ClientError, BotoCoreError) as exc:
            raise target.failed("CompleteMultipartUpload", exc) from exc
        self.completed = True
        # the whole-object digest is known only now: a copy onto itself records it
        try:
            copied = target.s3.copy_object(
                Bucket=target.bucket,
                Key=target.key,
                CopySource={"Bucket": target.bucket, "Key": target.key},
                MetadataDirective="REPLACE",
                ContentType=self.content_type,
                Metadata={"sha256": digest.hex()},
                ChecksumAlgorithm="SHA256",
            )
        except (ClientError, BotoCoreError) as exc:
            raise target.failed("CopyObject", exc) from exc
        result = copied.get("CopyObjectResult", {})
        stored_checksum = result.get("ChecksumSHA256", "")
        expected = base64.b64encode(digest).decode("ascii")
        if stored_checksum and "-" not in stored_checksum and stored_checksum != expected:
            raise ArchiveError(
                f"s3://{target.bucket}/{target.key} has SHA-256 {stored_checksum}, the download {expected}"
            )
        return result.get("ETag", "")


def _content_type(image: ImageInfo | None, is_mp4: bool, served_type: str | None, hint: str | None) -> str:
    if image is not None:
        return image.content_type
    if is_mp4:
        return "video/mp4"
    served = (served_type or "").strip()
    if served and served.split(";", 1)[0].strip().lower() not in _GENERIC_TYPES:
        return served
    return hint or served or "application/octet-stream"


def _describe(target: _Target, stored: _Stored) -> ArchivedObject:
    image = stored.image
    video: VideoInfo | None = None
    if stored.is_mp4:
        video = probe_mp4(lambda offset, length: target.read_range(offset, length, stored.etag), stored.size)
    width, height = (
        (image.width, image.height) if image else (video.width, video.height) if video else (None, None)
    )
    return ArchivedObject(
        bucket=target.bucket,
        key=target.key,
        content_type=stored.content_type,
        bytes=stored.size,
        sha256=stored.sha256,
        width=width,
        height=height,
        duration_seconds=video.duration_seconds if video else None,
        codec=video.codec if video else None,
    )
