"""Streaming provider outputs into S3: moto in-process S3 and a loopback source server."""

from __future__ import annotations

import base64
import hashlib
import random
import subprocess
import sys
import threading
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from flask import Flask, Response, redirect
from local.sandboxes.common import RunningServer
from local.sandboxes.media import render_video, sample_product
from moto import mock_aws
from werkzeug.serving import make_server
from werkzeug.wrappers import Response as BaseResponse

from mediajobs.archive import ArchivedObject, ArchiveError, archive_url, archived_already
from mediajobs.fetching import FetchError, TooLargeError, UnsafeUrlError, UrlPolicy
from mediajobs.media_probe import MediaProbeError
from tests.unit.test_media_probe import encode_image, encode_mp4, pyav_facts

MIB = 1024 * 1024
PART = 5 * MIB
BUCKET = "mediajobs-archive-test"
POLICY = UrlPolicy(allow_loopback=True)
BLOCK = 64 * 1024


def generated_block(index: int) -> bytes:
    """Block ``index`` of a deterministic stream that is never held whole in memory."""
    return hashlib.sha256(index.to_bytes(8, "big")).digest() * (BLOCK // 32)


def generated_sha256(size: int) -> str:
    digest = hashlib.sha256()
    for index in range(size // BLOCK):
        digest.update(generated_block(index))
    return digest.hexdigest()


class Source:
    """A loopback server standing in for a provider's output URLs."""

    def __init__(self) -> None:
        self.big = random.Random(11).randbytes(20 * MIB + 123)
        self.jpeg = encode_image(sample_product((640, 360)).convert("RGB"), "JPEG", quality=80)
        self.faststart_mp4 = render_video(sample_product((400, 400)), size=(360, 640), seconds=2.0, fps=6)
        self.moov_last_mp4 = encode_mp4(size=(320, 240), frames=30, fps=10, faststart=False)
        app = Flask("archive-source")

        @app.get("/big.bin")
        def big() -> Response:
            return Response(self.big, mimetype="application/octet-stream")

        @app.get("/faststart.mp4")
        def faststart() -> Response:
            return Response(self.faststart_mp4, mimetype="video/mp4")

        @app.get("/moov-last.mp4")
        def moov_last() -> Response:
            return Response(self.moov_last_mp4, mimetype="application/octet-stream")

        @app.get("/fake.mp4")
        def fake_mp4() -> Response:
            return Response(self.faststart_mp4[:32] + b"\xff" * 5000, mimetype="video/mp4")

        @app.get("/image")
        def image() -> Response:
            return Response(self.jpeg, mimetype="binary/octet-stream")

        @app.get("/hop")
        def hop() -> BaseResponse:
            return redirect("/image", 302)

        @app.get("/notes.txt")
        def notes() -> Response:
            return Response("plain words, not media", mimetype="text/plain")

        @app.get("/unknown.bin")
        def unknown() -> Response:
            return Response(b"\x00\x01\x02" * 100, mimetype="application/octet-stream")

        @app.get("/empty")
        def empty() -> Response:
            return Response(b"", mimetype="video/mp4")

        @app.get("/generated/<int:size>")
        def generated(size: int) -> Response:
            def body() -> Iterator[bytes]:
                for index in range(size // BLOCK):
                    yield generated_block(index)

            return Response(body(), mimetype="application/octet-stream")

        @app.get("/breaks-after/<int:size>")
        def breaks(size: int) -> Response:
            def body() -> Iterator[bytes]:
                for index in range(size // BLOCK):
                    yield generated_block(index)
                raise ConnectionAbortedError("the provider went away")

            response = Response(body(), mimetype="application/octet-stream")
            response.headers["Content-Length"] = str(size * 2)
            return response

        self.requests: Counter[str] = Counter()

        @app.get("/flaky/<name>/<int:size>/<int:breaks_at>")
        def flaky(name: str, size: int, breaks_at: int) -> Response:
            """The first request breaks off after ``breaks_at`` bytes; later ones send all ``size``."""
            self.requests[name] += 1
            first = self.requests[name] == 1

            def body() -> Iterator[bytes]:
                for index in range(size // BLOCK):
                    if first and index * BLOCK >= breaks_at:
                        raise ConnectionAbortedError("the provider went away")
                    yield generated_block(index)

            response = Response(body(), mimetype="application/octet-stream")
            response.headers["Content-Length"] = str(size)
            return response

        @app.get("/changing/<name>/<int:size>")
        def changing(name: str, size: int) -> Response:
            """Block 100 (in the third 5 MiB part) differs from one request to the next."""
            self.requests[name] += 1
            salt = self.requests[name]

            def body() -> Iterator[bytes]:
                for index in range(size // BLOCK):
                    yield generated_block(index) if index != 200 else bytes([salt]) * BLOCK

            return Response(body(), mimetype="application/octet-stream")

        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.running = RunningServer(server, thread, f"http://127.0.0.1:{server.server_port}")

    def url(self, path: str) -> str:
        return f"{self.running.base_url}{path}"


@pytest.fixture(scope="module")
def source() -> Iterator[Source]:
    running = Source()
    yield running
    running.running.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


class CallLog:
    """Every S3 operation the client sent, with its parameters (bodies left out)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, {k: v for k, v in params.items() if k != "Body"}))

    @property
    def counts(self) -> Counter[str]:
        return Counter(name for name, _ in self.calls)

    def of(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def calls(s3: Any) -> CallLog:
    log = CallLog()
    s3.meta.events.register("provide-client-params.s3.*", log)
    return log


def archive(s3: Any, http: httpx.Client, url: str, key: str, **options: Any) -> ArchivedObject:
    settings: dict[str, Any] = {"policy": POLICY, "max_bytes": 64 * MIB, "part_size": PART} | options
    return archive_url(s3_client=s3, http_client=http, url=url, bucket=BUCKET, key=key, **settings)


def assert_nothing_left(s3: Any, key: str) -> None:
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=BUCKET, Key=key)
    assert missing.value.response["Error"]["Code"] == "404"
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def composite_checksum(data: bytes, part_size: int) -> str:
    """S3's SHA-256 checksum of a multipart object: of the parts' digests, then ``-<parts>``."""
    digests = [hashlib.sha256(data[i : i + part_size]).digest() for i in range(0, len(data), part_size)]
    return f"{base64.b64encode(hashlib.sha256(b''.join(digests)).digest()).decode()}-{len(digests)}"


def stored(s3: Any, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return body


# --- success ------------------------------------------------------------------------------------


def test_a_large_file_goes_up_in_checksummed_parts_and_arrives_intact(
    s3: Any, http: httpx.Client, source: Source, calls: CallLog
) -> None:
    # Given a 20 MiB output and 5 MiB parts
    expected_sha = hashlib.sha256(source.big).hexdigest()

    # When it is archived
    result = archive(s3, http, source.url("/big.bin"), "outputs/job-1/big.bin")

    # Then S3 holds exactly the source bytes, uploaded as five SHA-256-checked parts
    assert stored(s3, "outputs/job-1/big.bin") == source.big
    assert result == ArchivedObject(
        bucket=BUCKET,
        key="outputs/job-1/big.bin",
        content_type="application/octet-stream",
        bytes=len(source.big),
        sha256=expected_sha,
        s3_checksum=composite_checksum(source.big, PART),
    )
    assert calls.counts["CreateMultipartUpload"] == 1
    assert calls.counts["UploadPart"] == 5
    assert calls.counts["CompleteMultipartUpload"] == 1
    assert calls.counts["PutObject"] == 0
    # nothing rewrites the object once it is complete
    assert calls.counts["CopyObject"] == 0
    assert calls.of("CreateMultipartUpload")[0]["ChecksumAlgorithm"] == "SHA256"
    parts = calls.of("UploadPart")
    assert sorted(part["PartNumber"] for part in parts) == [1, 2, 3, 4, 5]
    assert all(part["ChecksumAlgorithm"] == "SHA256" and part["ChecksumSHA256"] for part in parts)

    # And S3 keeps the composite SHA-256 of the parts it checked, and no upload is left open
    head = s3.head_object(Bucket=BUCKET, Key="outputs/job-1/big.bin", ChecksumMode="ENABLED")
    assert head["ContentType"] == "application/octet-stream"
    assert head["ChecksumSHA256"] == composite_checksum(source.big, PART).split("-")[0]
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


@pytest.mark.parametrize("path", ["/faststart.mp4", "/moov-last.mp4"])
def test_an_mp4_is_stored_as_video_with_its_size_duration_and_codec(
    s3: Any, http: httpx.Client, source: Source, calls: CallLog, path: str
) -> None:
    data = source.faststart_mp4 if path == "/faststart.mp4" else source.moov_last_mp4
    codec, width, height, duration = pyav_facts(data)

    result = archive(s3, http, source.url(path), "outputs/job-2/video.mp4")
    probe_reads = calls.of("GetObject")

    assert stored(s3, "outputs/job-2/video.mp4") == data
    assert (result.content_type, result.codec, result.width, result.height) == (
        "video/mp4",
        codec,
        width,
        height,
    )
    assert result.duration_seconds == pytest.approx(duration, abs=0.2)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    head = s3.head_object(Bucket=BUCKET, Key="outputs/job-2/video.mp4")
    assert head["ContentType"] == "video/mp4"
    assert head["Metadata"] == {"sha256": result.sha256}
    # measured with ranged reads of the stored object, not a second download
    assert probe_reads
    assert all(params["Range"].startswith("bytes=") for params in probe_reads)


def test_a_big_mp4_with_moov_at_the_end_is_probed_with_a_few_small_ranged_reads(
    s3: Any, http: httpx.Client, source: Source, calls: CallLog
) -> None:
    # Given an MP4 whose mdat is padded past one part, with moov at the end
    video = source.moov_last_mp4
    mdat_at = video.index(b"mdat") - 4
    size = int.from_bytes(video[mdat_at : mdat_at + 4], "big")
    padding = 6 * MIB
    padded = (
        video[:mdat_at]
        + (size + padding).to_bytes(4, "big")
        + video[mdat_at + 4 : mdat_at + size]
        + bytes(padding)
        + video[mdat_at + size :]
    )
    server = Flask("padded")
    server.add_url_rule("/padded.mp4", "padded", lambda: Response(padded, mimetype="video/mp4"))
    running = make_server("127.0.0.1", 0, server, threaded=True)
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    try:
        # When it is archived
        result = archive(s3, http, f"http://127.0.0.1:{running.server_port}/padded.mp4", "outputs/padded.mp4")
    finally:
        RunningServer(running, thread, "").stop()

    # Then it was multipart, and the probe read only a few kilobytes
    assert calls.counts["UploadPart"] == 2
    assert (result.width, result.height, result.codec) == (320, 240, "h264")
    ranges = [params["Range"].removeprefix("bytes=").split("-") for params in calls.of("GetObject")]
    read = sum(int(end) - int(start) + 1 for start, end in ranges)
    assert read < 64 * 1024 < len(padded)


def test_an_image_gets_its_sniffed_type_and_dimensions_in_one_put(
    s3: Any, http: httpx.Client, source: Source, calls: CallLog
) -> None:
    result = archive(s3, http, source.url("/hop"), "outputs/job-3/shot.jpg")

    assert stored(s3, "outputs/job-3/shot.jpg") == source.jpeg
    assert (result.content_type, result.width, result.height) == ("image/jpeg", 640, 360)
    assert (result.duration_seconds, result.codec) == (None, None)
    assert calls.counts["PutObject"] == 1
    assert calls.counts["CreateMultipartUpload"] == 0
    put = calls.of("PutObject")[0]
    assert put["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(source.jpeg).digest()).decode()
    head = s3.head_object(Bucket=BUCKET, Key="outputs/job-3/shot.jpg")
    assert (head["ContentType"], head["Metadata"]) == ("image/jpeg", {"sha256": result.sha256})


def test_other_files_keep_the_type_the_server_gave(s3: Any, http: httpx.Client, source: Source) -> None:
    result = archive(s3, http, source.url("/notes.txt"), "outputs/notes.txt", content_type_hint="audio/mpeg")
    assert result.content_type == "text/plain; charset=utf-8"
    assert (
        s3.head_object(Bucket=BUCKET, Key="outputs/notes.txt")["ContentType"] == "text/plain; charset=utf-8"
    )


def test_the_hint_replaces_a_generic_served_type(s3: Any, http: httpx.Client, source: Source) -> None:
    result = archive(
        s3, http, source.url("/unknown.bin"), "outputs/audio.mp3", content_type_hint="audio/mpeg"
    )
    assert result.content_type == "audio/mpeg"


def test_archiving_twice_to_the_same_key_overwrites(s3: Any, http: httpx.Client, source: Source) -> None:
    archive(s3, http, source.url("/notes.txt"), "outputs/job-4/out")
    first = archive(s3, http, source.url("/image"), "outputs/job-4/out")
    second = archive(s3, http, source.url("/image"), "outputs/job-4/out")

    assert first == second
    assert stored(s3, "outputs/job-4/out") == source.jpeg
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="outputs/job-4/")["KeyCount"] == 1


# --- failure ------------------------------------------------------------------------------------


def generated(size: int) -> bytes:
    return b"".join(generated_block(index) for index in range(size // BLOCK))


def open_uploads(s3: Any, key: str) -> list[dict[str, Any]]:
    return [u for u in s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) if u["Key"] == key]


def test_a_download_that_breaks_off_keeps_its_parts_for_a_retry(
    s3: Any, http: httpx.Client, source: Source, calls: CallLog
) -> None:
    # Given a source that drops the connection after 12 MiB of a promised 24 MiB
    with pytest.raises(FetchError):
        archive(s3, http, source.url(f"/breaks-after/{12 * MIB}"), "outputs/job-5/broken.bin")

    # Then no object exists, but the two whole parts that went up stay in an open upload
    assert calls.counts["UploadPart"] == 2
    assert calls.counts["AbortMultipartUpload"] == 0
    assert calls.counts["CompleteMultipartUpload"] == 0
    with pytest.raises(ClientError):
        s3.head_object(Bucket=BUCKET, Key="outputs/job-5/broken.bin")
    (upload,) = open_uploads(s3, "outputs/job-5/broken.bin")
    parts = s3.list_parts(Bucket=BUCKET, Key="outputs/job-5/broken.bin", UploadId=upload["UploadId"])["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, PART), (2, PART)]


def test_a_retry_after_a_broken_download_sends_only_the_missing_parts(
    s3: Any, http: httpx.Client, source: Source, calls: CallLog
) -> None:
    # Given a first run whose download broke off after 17 MiB of a 30 MiB output (3 parts sent)
    size, key = 30 * MIB, "outputs/job-7/video.bin"
    url = source.url(f"/flaky/resume-1/{size}/{17 * MIB}")
    with pytest.raises(FetchError):
        archive(s3, http, url, key)
    first_parts = sorted(p["PartNumber"] for p in calls.of("UploadPart"))
    assert first_parts == [1, 2, 3]
    calls.calls.clear()

    # When the task runs again and the source now sends everything
    result = archive(s3, http, url, key)

    # Then only parts 4 to 6 went up, into the upload left open, and the object is whole and right
    assert sorted(p["PartNumber"] for p in calls.of("UploadPart")) == [4, 5, 6]
    assert calls.counts["CreateMultipartUpload"] == 0
    data = generated(size)
    assert stored(s3, key) == data
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.s3_checksum == composite_checksum(data, PART)
    assert open_uploads(s3, key) == []


def test_a_stored_part_that_no_longer_matches_the_source_is_sent_again(
    s3: Any, http: httpx.Client, source: Source, calls: CallLog
) -> None:
    # Given an upload left open with parts 1 to 5 of a 25 MiB output, whose third part the source
    # now serves differently
    size, key = 25 * MIB, "outputs/job-8/changed.bin"
    url = source.url(f"/changing/change-1/{size}")
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key=key, ChecksumAlgorithm="SHA256")["UploadId"]
    with httpx.Client() as client:
        first = client.get(url, timeout=10).content
    for number in range(1, 6):
        body = first[(number - 1) * PART : number * PART]
        s3.upload_part(
            Bucket=BUCKET,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=body,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=base64.b64encode(hashlib.sha256(body).digest()).decode(),
        )
    calls.calls.clear()

    # When it is archived
    result = archive(s3, http, url, key)

    # Then only the part that changed was sent again, and S3 holds what the source sends now
    assert [p["PartNumber"] for p in calls.of("UploadPart")] == [3]
    data = stored(s3, key)
    assert data != first
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert data[: 2 * PART] == first[: 2 * PART]
    assert data[3 * PART :] == first[3 * PART :]


def test_an_s3_failure_mid_upload_keeps_the_parts_stored_and_the_retry_sends_the_rest(
    s3: Any, http: httpx.Client, source: Source, calls: CallLog
) -> None:
    # Given S3 refusing the second part once
    refused: list[int] = []

    def refuse_second_part_once(params: dict[str, Any], **_: Any) -> None:
        if params.get("PartNumber") == 2 and not refused:
            refused.append(2)
            raise ClientError(
                {"Error": {"Code": "SlowDown", "Message": "Please reduce your rate"}}, "UploadPart"
            )

    s3.meta.events.register("provide-client-params.s3.UploadPart", refuse_second_part_once)

    # When a multi-part file is archived, it fails as the domain error and keeps the upload open
    with pytest.raises(ArchiveError, match=r"UploadPart failed .*SlowDown"):
        archive(s3, http, source.url("/big.bin"), "outputs/job-6/big.bin")
    assert calls.counts["AbortMultipartUpload"] == 0
    (upload,) = open_uploads(s3, "outputs/job-6/big.bin")
    kept = s3.list_parts(Bucket=BUCKET, Key="outputs/job-6/big.bin", UploadId=upload["UploadId"])
    kept_numbers = {p["PartNumber"] for p in kept.get("Parts", [])}
    assert 1 in kept_numbers
    assert 2 not in kept_numbers
    sent_before = len(calls.of("UploadPart"))
    calls.calls.clear()

    # Then the retry sends only the parts S3 does not hold, and the object is right
    result = archive(s3, http, source.url("/big.bin"), "outputs/job-6/big.bin")
    resent = {p["PartNumber"] for p in calls.of("UploadPart")}
    assert resent == {1, 2, 3, 4, 5} - kept_numbers
    assert sent_before >= 1
    assert stored(s3, "outputs/job-6/big.bin") == source.big
    assert result.sha256 == hashlib.sha256(source.big).hexdigest()


def test_an_archived_object_is_recognised_by_its_size_and_checksum(
    s3: Any, http: httpx.Client, source: Source
) -> None:
    # Given an output archived once
    result = archive(s3, http, source.url("/big.bin"), "outputs/job-9/big.bin")

    # Then it counts as archived with what was recorded, and not with another checksum or size
    def check(size: int, checksum: str, key: str = "outputs/job-9/big.bin") -> bool:
        return archived_already(s3, bucket=BUCKET, key=key, size=size, s3_checksum=checksum)

    assert check(result.bytes, result.s3_checksum)
    assert not check(result.bytes, composite_checksum(source.big[:-1] + b"x", PART))
    assert not check(result.bytes - 1, result.s3_checksum)
    assert not check(result.bytes, result.s3_checksum, key="outputs/job-9/missing.bin")


def test_a_body_over_the_limit_aborts_the_upload(
    s3: Any, http: httpx.Client, source: Source, calls: CallLog
) -> None:
    with pytest.raises(TooLargeError):
        archive(s3, http, source.url(f"/generated/{16 * MIB}"), "outputs/too-big.bin", max_bytes=12 * MIB)
    assert calls.counts["AbortMultipartUpload"] == 1
    assert_nothing_left(s3, "outputs/too-big.bin")


def test_an_empty_body_is_an_error_and_writes_nothing(
    s3: Any, http: httpx.Client, source: Source, calls: CallLog
) -> None:
    with pytest.raises(ArchiveError, match="empty"):
        archive(s3, http, source.url("/empty"), "outputs/empty.mp4")
    assert set(calls.counts) == set()
    assert_nothing_left(s3, "outputs/empty.mp4")


def test_an_unsafe_url_is_refused_before_s3_is_touched(
    s3: Any, http: httpx.Client, source: Source, calls: CallLog
) -> None:
    with pytest.raises(UnsafeUrlError, match="loopback"):
        archive(s3, http, source.url("/image"), "outputs/ssrf.jpg", policy=UrlPolicy())
    assert calls.calls == []


def test_an_mp4_that_cannot_be_probed_is_not_kept(s3: Any, http: httpx.Client, source: Source) -> None:
    with pytest.raises(MediaProbeError):
        archive(s3, http, source.url("/fake.mp4"), "outputs/fake.mp4")
    assert_nothing_left(s3, "outputs/fake.mp4")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"part_size": MIB}, "at least 5242880"),
        ({"max_bytes": 0}, "max_bytes"),
        ({"max_bytes": 6 * 1024**3}, "max_bytes"),
    ],
)
def test_impossible_settings_are_refused(
    s3: Any, http: httpx.Client, source: Source, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        archive(s3, http, source.url("/image"), "outputs/x", **options)


# --- memory -------------------------------------------------------------------------------------


class DiscardingS3:
    """Takes a multipart upload and keeps only hashes and sizes of what it is sent.

    moto keeps every object in memory (and joins the parts into one buffer on completion), which
    would hide the memory this module itself uses; this stand-in checks each part's checksum and
    keeps its hash without storing a byte.
    """

    def __init__(self) -> None:
        self.parts: dict[int, str] = {}
        self.part_sizes: list[int] = []
        self.completed: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def create_multipart_upload(self, **params: Any) -> dict[str, Any]:
        assert params["ChecksumAlgorithm"] == "SHA256"
        return {"UploadId": "upload-1"}

    def upload_part(self, **params: Any) -> dict[str, Any]:
        body: bytes = params["Body"]
        digest, size = hashlib.sha256(body), len(body)
        assert base64.b64encode(digest.digest()).decode() == params["ChecksumSHA256"]
        with self.lock:
            self.parts[params["PartNumber"]] = digest.hexdigest()
            self.part_sizes.append(size)
        return {"ETag": f'"etag-{params["PartNumber"]}"'}

    def get_paginator(self, operation: str) -> Any:
        assert operation == "list_multipart_uploads"
        return self

    def paginate(self, **params: Any) -> list[dict[str, Any]]:
        return [{"Uploads": []}]

    def complete_multipart_upload(self, **params: Any) -> dict[str, Any]:
        self.completed = params["MultipartUpload"]["Parts"]
        digests = b"".join(base64.b64decode(part["ChecksumSHA256"]) for part in self.completed)
        checksum = base64.b64encode(hashlib.sha256(digests).digest()).decode()
        return {"ETag": '"complete"', "ChecksumSHA256": f"{checksum}-{len(self.completed)}"}

    def abort_multipart_upload(self, **params: Any) -> None:
        raise AssertionError("nothing should fail")


# Serves GET /<size> as ``size`` bytes of generated blocks, from its own process: a server thread
# in the test process would allocate while the archive runs and tracemalloc would count it.
_GENERATOR_SERVER = """
import hashlib, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        size = int(self.path.strip("/"))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        for index in range(size // BLOCK):
            self.wfile.write(hashlib.sha256(index.to_bytes(8, "big")).digest() * (BLOCK // 32))

    def log_message(self, *args):
        pass

BLOCK = int(sys.argv[1])
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_port, flush=True)
server.serve_forever()
"""


@pytest.fixture
def generator_url() -> Iterator[str]:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter running the script above
        [sys.executable, "-c", _GENERATOR_SERVER, str(BLOCK)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_memory_stays_within_the_window_of_parts_whatever_the_file_size(
    http: httpx.Client, generator_url: str
) -> None:
    # Given an 80 MiB output generated on the fly by another process, 5 MiB parts, 2 sent at once
    size, window = 80 * MIB, 2
    fake = DiscardingS3()

    # When it is archived while tracemalloc watches every allocation in this process
    tracemalloc.start()
    try:
        result = archive_url(
            s3_client=fake,  # type: ignore[arg-type]
            http_client=http,
            url=f"{generator_url}/{size}",
            bucket=BUCKET,
            key="outputs/huge.bin",
            policy=POLICY,
            max_bytes=128 * MIB,
            part_size=PART,
            window=window,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # Then all 80 MiB went up in 16 parts, each intact
    data_parts = [
        hashlib.sha256(
            b"".join(generated_block(i) for i in range(n * PART // BLOCK, (n + 1) * PART // BLOCK))
        )
        for n in range(16)
    ]
    assert fake.part_sizes == [PART] * 16
    assert [part["PartNumber"] for part in fake.completed] == list(range(1, 17))
    assert fake.parts == {n + 1: digest.hexdigest() for n, digest in enumerate(data_parts)}
    assert result.sha256 == generated_sha256(size)
    assert result.bytes == size
    # And the peak stayed within the window's parts plus the one being filled (and some change)
    assert peak < (window + 2) * PART, f"peak {peak / MIB:.1f} MiB"
