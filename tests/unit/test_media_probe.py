"""Identifying images and MP4s from their bytes, checked against files Pillow and PyAV really wrote."""

from __future__ import annotations

import io
import random
import struct
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import pytest
from local.sandboxes.media import render_video, sample_product
from PIL import Image

from mediajobs.errors import MediajobsError
from mediajobs.media_probe import (
    MAX_MOOV_BYTES,
    ImageInfo,
    MediaProbeError,
    describe_bytes,
    looks_like_mp4,
    probe_mp4,
    sniff_image,
)

# --- helpers ------------------------------------------------------------------------------------


def encode_image(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def product(size: tuple[int, int] = (321, 203)) -> Image.Image:
    """The sample product with a transparent corner, so alpha survives in PNG and WebP."""
    image = sample_product(size)
    image.paste((0, 0, 0, 0), (0, 0, size[0] // 4, size[1] // 4))
    return image


def encode_mp4(*, size: tuple[int, int], frames: int, fps: int, faststart: bool) -> bytes:
    """A real H.264 MP4; without faststart the muxer writes moov after mdat."""
    # faststart rewrites the file to move moov forward, which needs a real file
    with tempfile.TemporaryDirectory(prefix="probe-test-") as tmp:
        path = Path(tmp) / "video.mp4"
        _encode(path, size=size, frames=frames, fps=fps, faststart=faststart)
        return path.read_bytes()


def _encode(path: Path, *, size: tuple[int, int], frames: int, fps: int, faststart: bool) -> None:
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), mode="w", format="mp4", options=options) as container:
        stream = container.add_stream("libx264", rate=Fraction(fps, 1))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "35"}
        base = sample_product(size).convert("RGB")
        for index in range(frames):
            frame_image = base.rotate(index * 7, fillcolor=(index * 9 % 255, 80, 120))
            frame = av.VideoFrame.from_image(frame_image).reformat(format="yuv420p")  # type: ignore[no-untyped-call]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def pyav_facts(data: bytes) -> tuple[str, int, int, float]:
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        assert container.duration is not None
        return stream.codec_context.name, stream.width, stream.height, container.duration / av.time_base


def top_level_boxes(data: bytes) -> dict[str, tuple[int, int]]:
    """``type -> (offset, size)`` of the top-level boxes of a well-formed MP4."""
    boxes: dict[str, tuple[int, int]] = {}
    offset = 0
    while offset < len(data):
        size, kind = struct.unpack_from(">I4s", data, offset)
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, offset + 8)
        boxes[kind.decode()] = (offset, size)
        offset += size
    return boxes


class RecordingReader:
    """``read_range`` over bytes that remembers every range asked for."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.calls: list[tuple[int, int]] = []

    def __call__(self, offset: int, length: int) -> bytes:
        self.calls.append((offset, length))
        return self.data[offset : offset + length]


def box(kind: bytes, *payload: bytes, large: bool = False) -> bytes:
    body = b"".join(payload)
    if large:
        return struct.pack(">I4sQ", 1, kind, 16 + len(body)) + body
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full_box(kind: bytes, version: int, *payload: bytes) -> bytes:
    return box(kind, bytes([version, 0, 0, 0]), *payload)


def synthetic_mp4(
    *,
    version: int = 0,
    codec: bytes = b"avc1",
    handler: bytes = b"vide",
    timescale: int = 1000,
    duration: int = 4500,
    media_duration: int = 4500,
    size: tuple[int, int] = (1080, 1920),
    moov_first: bool = True,
    large_mdat: bool = False,
) -> bytes:
    """A minimal MP4 built box by box, to reach the versions and sizes encoders rarely write."""
    if version == 1:
        mvhd = full_box(b"mvhd", 1, struct.pack(">QQIQ", 0, 0, timescale, duration), bytes(80))
        times = struct.pack(">QQIIQ", 0, 0, 1, 0, duration)
        mdhd = full_box(b"mdhd", 1, struct.pack(">QQIQ", 0, 0, timescale, media_duration), bytes(4))
    else:
        mvhd = full_box(b"mvhd", 0, struct.pack(">IIII", 0, 0, timescale, duration), bytes(80))
        times = struct.pack(">IIIII", 0, 0, 1, 0, duration)
        mdhd = full_box(b"mdhd", 0, struct.pack(">IIII", 0, 0, timescale, media_duration), bytes(4))
    width, height = size
    tkhd = full_box(b"tkhd", version, times, bytes(52), struct.pack(">II", width << 16, height << 16))
    hdlr = full_box(b"hdlr", 0, bytes(4), handler, bytes(12), b"Handler\x00")
    entry = box(
        codec, bytes(6), struct.pack(">H", 1), bytes(16), struct.pack(">HH", width, height), bytes(50)
    )
    stsd = full_box(b"stsd", 0, struct.pack(">I", 1), entry)
    minf = box(b"minf", box(b"stbl", stsd))
    moov = box(b"moov", mvhd, box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, minf)))
    ftyp = box(b"ftyp", b"isom", struct.pack(">I", 512), b"isomiso2avc1mp41")
    mdat = box(b"mdat", bytes(2048), large=large_mdat)
    return ftyp + (moov + mdat if moov_first else mdat + moov)


# --- sniff_image --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "options", "mode", "expected_format", "chunk"),
    [
        ("PNG", {}, "RGBA", "png", None),
        ("PNG", {}, "P", "png", None),
        ("JPEG", {"quality": 85}, "RGB", "jpeg", None),
        ("JPEG", {"progressive": True}, "RGB", "jpeg", None),
        ("JPEG", {}, "L", "jpeg", None),
        ("WEBP", {"quality": 80}, "RGB", "webp", b"VP8 "),
        ("WEBP", {"lossless": True}, "RGBA", "webp", b"VP8L"),
        ("WEBP", {"quality": 80}, "RGBA", "webp", b"VP8X"),
    ],
    ids=[
        "png-rgba",
        "png-palette",
        "jpeg",
        "jpeg-progressive",
        "jpeg-grey",
        "webp-lossy",
        "webp-lossless",
        "webp-alpha",
    ],
)
def test_sniff_image_reads_format_and_size_of_real_files(
    fmt: str, options: dict[str, object], mode: str, expected_format: str, chunk: bytes | None
) -> None:
    # Given an image Pillow encoded with an odd size
    data = encode_image(product((321, 203)).convert(mode), fmt, **options)
    if chunk is not None:
        assert data[12:16] == chunk  # the WebP flavour under test really was written

    # When it is sniffed
    info = sniff_image(data)

    # Then format, content type and size agree with what Pillow decodes
    assert info == ImageInfo.model_validate(
        {"format": expected_format, "content_type": f"image/{expected_format}", "width": 321, "height": 203}
    )
    assert info is not None
    assert Image.open(io.BytesIO(data)).size == (info.width, info.height)


def test_sniff_image_walks_past_exif_icc_and_comment_segments_to_the_frame_header() -> None:
    # Given a JPEG whose frame header sits behind a 30 kB EXIF block, an ICC profile and a comment
    exif = Image.Exif()
    exif[0x010E] = "x" * 30_000  # ImageDescription
    exif[0x0112] = 6  # Orientation: the stored size is still the frame size
    data = encode_image(
        product((640, 480)).convert("RGB"),
        "JPEG",
        exif=exif.tobytes(),
        icc_profile=bytes(range(256)) * 300,
        comment=b"made for a test",
    )
    assert data.index(b"Exif\x00\x00") < data.index(b"\xff\xc0")  # EXIF comes before the frame header

    # When the whole header is there, the size is found; when it is cut before SOF, nothing is
    assert sniff_image(data) == ImageInfo(format="jpeg", content_type="image/jpeg", width=640, height=480)
    assert sniff_image(data[:20_000]) is None


def test_sniff_image_needs_only_the_first_bytes() -> None:
    png = encode_image(product((50, 70)), "PNG")
    webp = encode_image(product((50, 70)), "WEBP", lossless=True)
    assert sniff_image(png[:24]) == ImageInfo(format="png", content_type="image/png", width=50, height=70)
    assert sniff_image(webp[:30]) == ImageInfo(format="webp", content_type="image/webp", width=50, height=70)


def _gif() -> bytes:
    return encode_image(product((20, 20)).convert("P"), "GIF")


def _bmp() -> bytes:
    return encode_image(product((20, 20)).convert("RGB"), "BMP")


def _png() -> bytes:
    return encode_image(product((20, 20)), "PNG")


def _jpeg() -> bytes:
    return encode_image(product((20, 20)).convert("RGB"), "JPEG")


def _webp() -> bytes:
    return encode_image(product((20, 20)), "WEBP")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(_gif(), id="gif"),
        pytest.param(_bmp(), id="bmp"),
        pytest.param(b"<!DOCTYPE html><html><body>hello</body></html>", id="html"),
        pytest.param(b"hello, I am text", id="text"),
        pytest.param(b'{"error": "expired"}', id="json"),
        pytest.param(_png()[:20], id="png-cut-in-ihdr"),
        pytest.param(_png()[:8] + b"\x00\x00\x00\x0dIHDX" + bytes(13), id="png-without-ihdr"),
        pytest.param(_jpeg()[:3], id="jpeg-just-soi"),
        pytest.param(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(100), id="jpeg-cut-in-app0"),
        pytest.param(b"\xff\xd8\xff\xda\x00\x08" + bytes(100), id="jpeg-scan-before-frame"),
        pytest.param(b"\xff\xd8\xff\xe0\x00\x01" + bytes(100), id="jpeg-impossible-length"),
        pytest.param(b"\xff\xd8\xff\xc0\x00\x11\x08\x00\x00\x00\x10" + bytes(100), id="jpeg-zero-height"),
        pytest.param(_webp()[:22], id="webp-cut-in-vp8"),
        pytest.param(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(40), id="riff-wave"),
        pytest.param(b"RIFF\x24\x00\x00\x00WEBPVP8Z" + bytes(40), id="webp-unknown-chunk"),
        pytest.param(random.Random(7).randbytes(4096), id="random"),
        pytest.param(encode_mp4(size=(64, 64), frames=2, fps=2, faststart=True), id="mp4"),
    ],
)
def test_sniff_image_returns_none_for_anything_else(data: bytes) -> None:
    assert sniff_image(data) is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "an empty file"),
        (_gif(), "a GIF image"),
        (_png(), "a PNG image"),
        (_png()[:12], "a truncated or broken PNG"),
        (b"  <html><head></head></html>", "an HTML page"),
        (b"%PDF-1.7", "a PDF document"),
        (b"hello", "text"),
        (b"\x00\x01\x02\xfe\xff", "unrecognised binary data"),
    ],
)
def test_describe_bytes_names_what_a_file_is(data: bytes, expected: str) -> None:
    assert describe_bytes(data) == expected


# --- probe_mp4 on real files --------------------------------------------------------------------


@pytest.fixture(scope="module")
def faststart_mp4() -> bytes:
    return render_video(product((400, 300)), size=(320, 180), seconds=2.5, fps=8)


@pytest.fixture(scope="module")
def moov_last_mp4() -> bytes:
    return encode_mp4(size=(256, 144), frames=36, fps=12, faststart=False)


def test_faststart_file_has_moov_before_mdat(faststart_mp4: bytes) -> None:
    boxes = top_level_boxes(faststart_mp4)
    assert boxes["moov"][0] < boxes["mdat"][0]


def test_probe_mp4_reads_a_faststart_h264_file(faststart_mp4: bytes) -> None:
    info = probe_mp4(RecordingReader(faststart_mp4), len(faststart_mp4))

    codec, width, height, duration = pyav_facts(faststart_mp4)
    assert (info.codec, info.width, info.height) == (codec, width, height) == ("h264", 320, 180)
    assert info.duration_seconds == pytest.approx(duration, abs=1 / 8)
    assert info.duration_seconds == pytest.approx(2.5, abs=1 / 8)
    assert info.content_type == "video/mp4"


def test_probe_mp4_reads_a_file_with_moov_after_mdat(moov_last_mp4: bytes) -> None:
    boxes = top_level_boxes(moov_last_mp4)
    assert boxes["moov"][0] > boxes["mdat"][0]

    info = probe_mp4(RecordingReader(moov_last_mp4), len(moov_last_mp4))

    codec, width, height, duration = pyav_facts(moov_last_mp4)
    assert (info.codec, info.width, info.height) == (codec, width, height) == ("h264", 256, 144)
    assert info.duration_seconds == pytest.approx(duration, abs=1 / 12)
    assert info.duration_seconds == pytest.approx(3.0, abs=1 / 12)


def test_probe_mp4_reads_box_headers_and_moov_but_never_the_media_data(moov_last_mp4: bytes) -> None:
    # Given a file with moov at the end
    reader = RecordingReader(moov_last_mp4)
    mdat_offset, mdat_size = top_level_boxes(moov_last_mp4)["mdat"]
    moov_offset, moov_size = top_level_boxes(moov_last_mp4)["moov"]

    # When it is probed
    probe_mp4(reader, len(moov_last_mp4))

    # Then no read touched the media payload, and only moov was read in full
    payload = range(mdat_offset + 16, mdat_offset + mdat_size)
    for offset, length in reader.calls:
        assert offset not in payload
        assert offset + length - 1 not in payload
    assert sum(length for _, length in reader.calls) <= moov_size + 16 * len(reader.calls)
    assert reader.calls[-1] == (moov_offset + 8, moov_size - 8)


# --- probe_mp4 on files built box by box ---------------------------------------------------------


@pytest.mark.parametrize("version", [0, 1])
@pytest.mark.parametrize("moov_first", [True, False])
def test_probe_mp4_reads_version_0_and_1_headers(version: int, moov_first: bool) -> None:
    data = synthetic_mp4(
        version=version, timescale=600, duration=9000, size=(1080, 1920), moov_first=moov_first
    )

    info = probe_mp4(RecordingReader(data), len(data))

    assert (info.width, info.height, info.duration_seconds, info.codec) == (1080, 1920, 15.0, "h264")


@pytest.mark.parametrize(
    ("fourcc", "codec"),
    [
        (b"avc1", "h264"),
        (b"avc3", "h264"),
        (b"hvc1", "h265"),
        (b"hev1", "h265"),
        (b"av01", "av1"),
        (b"xyz1", "xyz1"),
    ],
)
def test_probe_mp4_names_the_codec_of_the_sample_entry(fourcc: bytes, codec: str) -> None:
    data = synthetic_mp4(codec=fourcc)
    assert probe_mp4(RecordingReader(data), len(data)).codec == codec


def test_probe_mp4_follows_a_64_bit_box_size_to_a_moov_after_mdat() -> None:
    data = synthetic_mp4(moov_first=False, large_mdat=True)
    assert probe_mp4(RecordingReader(data), len(data)).duration_seconds == 4.5


def test_probe_mp4_falls_back_to_the_track_duration_when_the_movie_has_none() -> None:
    data = synthetic_mp4(duration=0, media_duration=3000)
    assert probe_mp4(RecordingReader(data), len(data)).duration_seconds == 3.0


# --- probe_mp4 refusing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"", "only 0 bytes", id="empty"),
        pytest.param(_png(), "not an MP4", id="png"),
        pytest.param(b"hello, I am text and not a video at all", "not an MP4", id="text"),
        pytest.param(random.Random(3).randbytes(10_000), "not an MP4", id="random"),
        pytest.param(
            box(b"ftyp", b"isom", bytes(4)) + b"\x00\x00\x00\x10\x00\x01\x02\x03",
            "not a box",
            id="binary-box",
        ),
        pytest.param(
            box(b"moov", bytes(100)) + box(b"mdat", bytes(10)), "does not start with an ftyp", id="no-ftyp"
        ),
        pytest.param(synthetic_mp4(moov_first=False)[:-40], "truncated", id="cut-in-moov"),
        pytest.param(synthetic_mp4()[:60], "truncated", id="cut-early"),
        pytest.param(
            synthetic_mp4()[:32] + struct.pack(">I4s", 4, b"moov"), "claims 4 bytes", id="box-too-small"
        ),
        pytest.param(box(b"ftyp", b"isom", bytes(4)) + box(b"mdat", bytes(50)), "no moov", id="no-moov"),
        pytest.param(synthetic_mp4(handler=b"soun"), "no video track", id="audio-only"),
        pytest.param(synthetic_mp4(duration=0, media_duration=0), "how long", id="no-duration"),
        pytest.param(synthetic_mp4(size=(0, 0)), "width or height", id="no-size"),
    ],
)
def test_probe_mp4_raises_a_clear_error_for_broken_or_foreign_input(data: bytes, message: str) -> None:
    with pytest.raises(MediaProbeError, match=message) as caught:
        probe_mp4(RecordingReader(data), len(data))
    assert isinstance(caught.value, MediajobsError)


def test_probe_mp4_refuses_a_huge_moov_without_reading_it() -> None:
    # Given a file whose moov box claims more than the limit
    ftyp = box(b"ftyp", b"isom", bytes(4))
    header = struct.pack(">I4s", MAX_MOOV_BYTES + 9, b"moov")
    size = len(ftyp) + MAX_MOOV_BYTES + 9
    calls: list[tuple[int, int]] = []

    def read_range(offset: int, length: int) -> bytes:
        calls.append((offset, length))
        return (ftyp + header + bytes(16))[offset : offset + length]

    # When it is probed (the file claims to be big enough to hold it)
    with pytest.raises(MediaProbeError, match="moov box is"):
        probe_mp4(read_range, size)

    # Then only box headers were read
    assert calls
    assert all(length <= 16 for _, length in calls)


def test_probe_mp4_reports_a_short_read_as_broken() -> None:
    data = synthetic_mp4()
    with pytest.raises(MediaProbeError, match="wanted"):
        probe_mp4(lambda offset, length: data[offset : offset + length // 2], len(data))


def test_looks_like_mp4_only_for_an_ftyp_box_at_the_start(faststart_mp4: bytes) -> None:
    assert looks_like_mp4(faststart_mp4)
    assert not looks_like_mp4(_png())
    assert not looks_like_mp4(b"\x00\x00\x00\x08ftyp")
