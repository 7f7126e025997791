"""Keep a permanent copy of one provider output in S3, streamed, in bounded memory, resumable.

The body is read from the provider URL (through :func:`mediajobs.fetching.open_stream`, so the URL
policy applies to it and to every redirect) and cut into parts while it streams. A body that fits
in one part is written with a single ``PutObject``. A larger one goes up as a multipart upload
whose parts are sent by ``window`` threads while the download goes on: at most ``window`` parts
are in flight and one more is being filled, whatever the size of the file. Every part carries its
SHA-256, which S3 checks and combines into the object's composite checksum; nothing is copied or
rewritten afterwards. The whole-file SHA-256 (hashed as the bytes arrive) is returned for
the job record.

Resuming: a failure that a retry may fix (the download broke off, S3 refused a request, the
process died) leaves the multipart upload open. The next run for the same key finds it
(``ListMultipartUploads``/``ListParts``), re-reads the source, and skips every part whose size and
SHA-256 match the part already stored; only the rest is sent. A failure a retry cannot fix (too
large, unsafe, empty) aborts the upload. Uploads nobody resumes are removed by the bucket's
``AbortIncompleteMultipartUpload`` lifecycle rule (template.yaml). :func:`archived_already` tells
whether an object recorded earlier is still in place, so a retried job skips it.

Afterwards the stored object is measured: an image from the header in its first bytes, an MP4 by
walking its boxes with ranged reads of the stored object (so a ``moov`` at the end costs a few small
requests, not a second download).

Size: one module on purpose: the streaming window, the part checksums and the resume check
share one invariant (a part is skipped only when its bytes are proven stored), which must be
read in one place.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import httpx
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from mediajobs.errors import MediajobsError
from mediajobs.fetching import Download, TooLargeError, UnsafeUrlError, UrlPolicy, open_stream
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
#: parts uploaded at once (boto3's transfer manager sends up to 10)
DEFAULT_WINDOW: Final = 4
#: S3's most parts in one upload
MAX_PARTS: Final = 10_000
#: the largest output accepted (S3 takes up to 5 TiB; a job output is far smaller)
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
    #: of the whole file, hex
    sha256: str
    #: the SHA-256 checksum S3 keeps for the object: of the whole file for a single ``PutObject``,
    #: else the composite ``<base64 of the SHA-256 of the parts' digests>-<parts>``
    s3_checksum: str
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
    window: int = DEFAULT_WINDOW,
    content_type_hint: str | None = None,
    timeout: httpx.Timeout | float | None = None,
) -> ArchivedObject:
    """Stream ``url`` into ``s3://bucket/key`` and describe what was stored.

    Holds at most ``window + 1`` parts of the body in memory. The content type is sniffed from the
    first bytes (JPEG, PNG, WebP, MP4), else taken from the response, else from
    ``content_type_hint``. Running it again for the same key resumes an upload left open by a
    failed run, else overwrites the object. Raises the errors of
    :func:`~mediajobs.fetching.open_stream`, :class:`ArchiveError` (empty body, S3 failure) and
    :class:`~mediajobs.media_probe.MediaProbeError` (an MP4 that cannot be read, which is then
    deleted again).
    """
    if part_size < MIN_PART_SIZE:
        raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (the S3 minimum)")
    if not 0 < max_bytes <= min(MAX_ARCHIVE_BYTES, part_size * MAX_PARTS):
        raise ValueError(f"max_bytes must be between 1 and {min(MAX_ARCHIVE_BYTES, part_size * MAX_PARTS)}")
    if window < 1:
        raise ValueError("window must be at least 1")
    target = _Target(s3_client, bucket, key)
    with open_stream(http_client, url, policy, max_bytes=max_bytes, timeout=timeout) as download:
        writer = _Writer(target, download.content_type, content_type_hint, part_size, window)
        try:
            writer.write(download)
            stored = writer.finish()
        except BaseException as exc:
            writer.stop(keep_for_retry=_retry_may_fix(exc))
            raise
    logger.info(
        "archived provider output",
        extra={
            "source": redact(url),
            "bucket": bucket,
            "key": key,
            "bytes": stored.size,
            "parts_sent": writer.parts_sent,
            "parts_resumed": writer.parts_resumed,
        },
    )
    try:
        return _describe(target, stored)
    except MediaProbeError:
        target.delete_quietly()
        raise


def archived_already(s3_client: S3Client, *, bucket: str, key: str, size: int, s3_checksum: str) -> bool:
    """Whether ``s3://bucket/key`` still holds the object recorded with ``size`` and ``s3_checksum``."""
    target = _Target(s3_client, bucket, key)
    try:
        head = s3_client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            return False
        raise target.failed("HeadObject", exc) from exc
    except BotoCoreError as exc:
        raise target.failed("HeadObject", exc) from exc
    return head["ContentLength"] == size and _same_checksum(head.get("ChecksumSHA256", ""), s3_checksum)


def _retry_may_fix(exc: BaseException) -> bool:
    """Whether to keep the parts sent so far for the next attempt."""
    return not isinstance(exc, TooLargeError | UnsafeUrlError | ValueError)


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _same_checksum(stored: str, expected: str) -> bool:
    """S3 writes a composite checksum as ``<base64>-<parts>``; some servers leave off the suffix."""
    stored_value, _, stored_parts = stored.partition("-")
    expected_value, _, expected_parts = expected.partition("-")
    return bool(stored_value) and stored_value == expected_value and stored_parts in {"", expected_parts}


@dataclass(frozen=True)
class _ListedPart:
    size: int
    etag: str
    checksum: str | None


@dataclass(frozen=True)
class _OpenUpload:
    upload_id: str
    parts: dict[int, _ListedPart]


@dataclass(frozen=True)
class _Stored:
    """What the writer learned while streaming."""

    size: int
    sha256: str
    s3_checksum: str
    content_type: str
    image: ImageInfo | None
    is_mp4: bool
    etag: str


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

    def open_upload(self) -> _OpenUpload | None:
        """The newest SHA-256 multipart upload left open for the key, with its parts; others are aborted."""
        try:
            pages = self.s3.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=self.key
            )
            uploads = [u for page in pages for u in page.get("Uploads", []) if u.get("Key") == self.key]
        except (ClientError, BotoCoreError) as exc:
            raise self.failed("ListMultipartUploads", exc) from exc
        uploads.sort(key=lambda u: u["Initiated"], reverse=True)
        usable = [u for u in uploads if u.get("ChecksumAlgorithm", "SHA256") == "SHA256"]
        chosen = usable[0] if usable else None
        for stale in uploads:
            if stale is not chosen:
                self.abort_quietly(stale["UploadId"])
        if chosen is None:
            return None
        upload_id = chosen["UploadId"]
        try:
            part_pages = self.s3.get_paginator("list_parts").paginate(
                Bucket=self.bucket, Key=self.key, UploadId=upload_id
            )
            parts = {
                p["PartNumber"]: _ListedPart(p["Size"], p["ETag"], p.get("ChecksumSHA256"))
                for page in part_pages
                for p in page.get("Parts", [])
            }
        except (ClientError, BotoCoreError) as exc:
            raise self.failed("ListParts", exc) from exc
        logger.info(
            "resuming a multipart upload",
            extra={"bucket": self.bucket, "key": self.key, "parts_stored": len(parts)},
        )
        return _OpenUpload(upload_id, parts)

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

    def stored_checksum(self) -> str:
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=self.key, ChecksumMode="ENABLED")
        except (ClientError, BotoCoreError) as exc:
            raise self.failed("HeadObject", exc) from exc
        return head.get("ChecksumSHA256", "")

    def delete_quietly(self) -> None:
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=self.key)
        except (ClientError, BotoCoreError):
            logger.exception(
                "could not delete a failed archive", extra={"bucket": self.bucket, "key": self.key}
            )

    def abort_quietly(self, upload_id: str) -> None:
        try:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=upload_id)
        except (ClientError, BotoCoreError):
            logger.exception(
                "could not abort a multipart upload",
                extra={"bucket": self.bucket, "key": self.key, "upload_id": upload_id},
            )


class _Writer:
    """Cuts the stream into parts and sends them: one ``PutObject``, or ``window`` parts at a time.

    A part is joined from the received chunks once (the only copy) and handed to a sending thread
    as ``bytes``, so the HTTP client sends it with one call that releases the GIL while the download
    goes on. The whole-file SHA-256 is updated here as chunks arrive; each part's SHA-256 is
    computed by the thread that sends it (hashlib releases the GIL, so the two run side by side).
    Memory: ``window`` parts in flight and one being gathered.
    """

    def __init__(
        self, target: _Target, served_type: str | None, hint: str | None, part_size: int, window: int
    ) -> None:
        self.target = target
        self.served_type = served_type
        self.hint = hint
        self.part_size = part_size
        self.window = window
        self.hasher = hashlib.sha256()
        self.size = 0
        self.image: ImageInfo | None = None
        self.is_mp4 = False
        self.content_type = ""
        self.upload_id: str | None = None
        self.listed: dict[int, _ListedPart] = {}
        self.futures: list[Future[CompletedPartTypeDef]] = []
        self.completed = False
        self.parts_sent = 0
        self.parts_resumed = 0
        self._count_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(window)
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[bytes] = []
        self._pending_size = 0

    def write(self, download: Download) -> None:
        pending = self._pending
        for chunk in download.iter_bytes(min(_READ_CHUNK, self.part_size)):
            self.hasher.update(chunk)
            self.size += len(chunk)
            rest = chunk
            while rest:
                if self._pending_size == self.part_size:
                    # a full part goes only once the next byte is here: the last part is known as such
                    self._send()
                room = self.part_size - self._pending_size
                piece, rest = (rest, b"") if len(rest) <= room else (rest[:room], rest[room:])
                pending.append(piece)
                self._pending_size += len(piece)

    def finish(self) -> _Stored:
        if self.size == 0:
            raise ArchiveError(
                f"nothing to archive at s3://{self.target.bucket}/{self.target.key}: the body was empty"
            )
        if not self.futures:
            body = _take(self._pending)
            self._describe_head(body)
            etag, checksum = self._put(body)
        else:
            self._send()
            parts = [future.result() for future in self.futures]
            if self._pool is not None:
                self._pool.shutdown()
            etag, checksum = self._complete(parts)
        return _Stored(
            size=self.size,
            sha256=self.hasher.hexdigest(),
            s3_checksum=checksum,
            content_type=self.content_type,
            image=self.image,
            is_mp4=self.is_mp4,
            etag=etag,
        )

    def stop(self, *, keep_for_retry: bool) -> None:
        """After a failure: let sends in flight end, then undo or keep what was written; never raises."""
        self._pending.clear()
        if not keep_for_retry:
            # parts handed over but not started are dropped; kept for a retry, they finish, so the
            # retry finds them stored (a part queued behind a busy thread is still one less to send)
            for future in self.futures:
                future.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        target = self.target
        if self.completed:
            target.delete_quietly()
        elif self.upload_id is not None:
            if keep_for_retry:
                logger.info(
                    "kept a multipart upload for a retry",
                    extra={"bucket": target.bucket, "key": target.key, "parts_sent": self.parts_sent},
                )
            else:
                target.abort_quietly(self.upload_id)

    # --- parts ----------------------------------------------------------------------------------

    def _send(self) -> None:
        """Hands the gathered part to a sending thread, once fewer than ``window`` are in flight."""
        while not self._slots.acquire(timeout=0.05):
            self._raise_failed_send()
        try:
            self._raise_failed_send()
            body = _take(self._pending)
            self._pending_size = 0
            if not self.futures:
                self._describe_head(body)
                # the body needs several parts: carry on with an upload an earlier run left, else start one
                left = self.target.open_upload()
                if left is None:
                    self.upload_id = self._create()
                else:
                    self.upload_id, self.listed = left.upload_id, left.parts
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.window, thread_name_prefix="archive-part")
            number = len(self.futures) + 1
            self.futures.append(self._pool.submit(self._upload_part, number, body))
        except BaseException:
            self._slots.release()
            raise

    def _raise_failed_send(self) -> None:
        for future in self.futures:
            if future.done() and future.exception() is not None:
                future.result()

    def _upload_part(self, number: int, body: bytes) -> CompletedPartTypeDef:
        try:
            checksum = _b64(hashlib.sha256(body).digest())
            listed = self.listed.get(number)
            if listed is not None and listed.size == len(body) and self._matches(listed, checksum, body):
                with self._count_lock:
                    self.parts_resumed += 1
                return {"PartNumber": number, "ETag": listed.etag, "ChecksumSHA256": checksum}
            etag = self._put_part(number, body, checksum)
            with self._count_lock:
                self.parts_sent += 1
            return {"PartNumber": number, "ETag": etag, "ChecksumSHA256": checksum}
        finally:
            del body
            self._slots.release()

    @staticmethod
    def _matches(listed: _ListedPart, checksum: str, body: bytes) -> bool:
        """Whether a stored part holds ``body``: by its SHA-256, or where S3 lists none, its MD5 ETag."""
        if listed.checksum:
            return listed.checksum == checksum
        etag = listed.etag.strip('"')
        # a plain part ETag is the MD5 of its bytes; any other form (KMS) is never trusted
        return len(etag) == 32 and hashlib.md5(body, usedforsecurity=False).hexdigest() == etag

    def _describe_head(self, body: bytes) -> None:
        self.image = sniff_image(body)
        self.is_mp4 = self.image is None and looks_like_mp4(body)
        self.content_type = _content_type(self.image, self.is_mp4, self.served_type, self.hint)

    # --- requests -------------------------------------------------------------------------------

    def _put(self, body: bytes) -> tuple[str, str]:
        target = self.target
        digest = self.hasher.digest()
        checksum = _b64(digest)
        try:
            response = target.s3.put_object(
                Bucket=target.bucket,
                Key=target.key,
                Body=body,
                ContentType=self.content_type,
                Metadata={"sha256": digest.hex()},
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=checksum,
            )
        except (ClientError, BotoCoreError) as exc:
            raise target.failed("PutObject", exc) from exc
        self.completed = True
        return response["ETag"], checksum

    def _create(self) -> str:
        target = self.target
        try:
            created = target.s3.create_multipart_upload(
                Bucket=target.bucket,
                Key=target.key,
                ContentType=self.content_type,
                ChecksumAlgorithm="SHA256",
            )
        except (ClientError, BotoCoreError) as exc:
            raise target.failed("CreateMultipartUpload", exc) from exc
        return created["UploadId"]

    def _put_part(self, number: int, body: bytes, checksum: str) -> str:
        target = self.target
        assert self.upload_id is not None  # noqa: S101 - created before the first part is sent
        try:
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
        return response["ETag"]

    def _complete(self, parts: list[CompletedPartTypeDef]) -> tuple[str, str]:
        target = self.target
        assert self.upload_id is not None  # noqa: S101 - only called after a part went up
        digests = b"".join(base64.b64decode(part["ChecksumSHA256"]) for part in parts)
        expected = f"{_b64(hashlib.sha256(digests).digest())}-{len(parts)}"
        try:
            response = target.s3.complete_multipart_upload(
                Bucket=target.bucket,
                Key=target.key,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": parts},
            )
        except (ClientError, BotoCoreError) as exc:
            raise target.failed("CompleteMultipartUpload", exc) from exc
        self.completed = True
        stored = response.get("ChecksumSHA256") or target.stored_checksum()
        if not _same_checksum(stored, expected):
            raise ArchiveError(
                f"s3://{target.bucket}/{target.key} has checksum {stored!r}, the parts sent {expected}"
            )
        return response["ETag"], expected


def _take(pending: list[bytes]) -> bytes:
    joined = b"".join(pending)
    pending.clear()
    return joined


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
        s3_checksum=stored.s3_checksum,
        width=width,
        height=height,
        duration_seconds=video.duration_seconds if video else None,
        codec=video.codec if video else None,
    )
