"""Identify images and MP4 videos from their bytes, without Pillow or ffmpeg.

Provider outputs and product images are checked here before anything trusts them: an image is
recognised from its first bytes (PNG ``IHDR``, the JPEG ``SOFn`` segment, the WebP ``VP8``/``VP8L``/
``VP8X`` chunk), and an MP4 is probed by walking its boxes through a ``read_range`` callback, so a
video stored in S3 is measured with a few ranged reads instead of a download. Every size read from
the file is checked against the bytes that are really there: a broken or hostile file gives
``None`` (images) or :class:`MediaProbeError` (videos), never an index error or an unbounded read.

Size: one module on purpose: the three image formats and the MP4 box walk share the bounds
checks that keep a hostile file from causing an unbounded read.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from mediajobs.errors import MediajobsError

ImageFormat = Literal["png", "jpeg", "webp"]

#: a moov box larger than this is refused rather than read into memory
MAX_MOOV_BYTES: Final = 32 * 1024 * 1024
#: more top-level boxes than this is not a real MP4 (each costs one ranged read)
MAX_TOP_LEVEL_BOXES: Final = 1024

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
# SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG extension) and CC (DAC) share the range
_JPEG_SOF_MARKERS: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# markers that stand alone, without a length: TEM and RST0..RST7
_JPEG_STANDALONE_MARKERS: Final = frozenset({0x01, *range(0xD0, 0xD8)})
_CODEC_NAMES: Final = {
    "avc1": "h264",
    "avc3": "h264",
    "hvc1": "h265",
    "hev1": "h265",
    "av01": "av1",
    "vp08": "vp8",
    "vp09": "vp9",
    "mp4v": "mpeg4",
}


class MediaProbeError(MediajobsError):
    """The bytes are not the media they were expected to be, or the file is broken."""


class ImageInfo(BaseModel):
    """What the first bytes of an image say about it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: ImageFormat
    content_type: str
    width: int
    height: int


class VideoInfo(BaseModel):
    """What an MP4's ``moov`` box says about its video track."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    width: int
    height: int
    duration_seconds: float
    codec: str
    content_type: str = "video/mp4"


# --- images -----------------------------------------------------------------------------------


def sniff_image(head: bytes) -> ImageInfo | None:
    """The format and size of a PNG, JPEG or WebP from its first bytes; ``None`` for anything else.

    ``head`` must hold the header (for a JPEG: every segment before the frame header, which a large
    EXIF block can push tens of kilobytes in). Truncated or inconsistent headers give ``None``.
    """
    if head.startswith(_PNG_SIGNATURE):
        size = _png_size(head)
        fmt: ImageFormat = "png"
    elif head.startswith(b"\xff\xd8\xff"):
        size = _jpeg_size(head)
        fmt = "jpeg"
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        size = _webp_size(head)
        fmt = "webp"
    else:
        return None
    if size is None or size[0] <= 0 or size[1] <= 0:
        return None
    return ImageInfo(format=fmt, content_type=f"image/{fmt}", width=size[0], height=size[1])


def _png_size(head: bytes) -> tuple[int, int] | None:
    # the first chunk must be IHDR with 13 bytes of data: width and height come first
    if len(head) < 24 or head[8:16] != b"\x00\x00\x00\x0dIHDR":
        return None
    width, height = struct.unpack_from(">II", head, 16)
    return width, height


def _jpeg_size(head: bytes) -> tuple[int, int] | None:
    position = 2
    end = len(head)
    while position < end and head[position] == 0xFF:  # segments follow each other without gaps
        while position < end and head[position] == 0xFF:
            position += 1  # a marker may be preceded by any number of fill bytes
        marker = head[position] if position < end else 0xD9
        position += 1
        if marker in _JPEG_STANDALONE_MARKERS:
            continue
        # another SOI, the end, or image data before any frame header: no size to find
        if marker in {0xD8, 0xD9, 0xDA} or position + 2 > end:
            return None
        (length,) = struct.unpack_from(">H", head, position)
        if length < 2 or position + length > end:
            return None
        if marker in _JPEG_SOF_MARKERS:
            # precision, then height and width
            return None if length < 7 else _swap(struct.unpack_from(">HH", head, position + 3))
        position += length
    return None


def _swap(pair: tuple[int, int]) -> tuple[int, int]:
    return pair[1], pair[0]


def _webp_vp8(data: bytes) -> tuple[int, int] | None:
    # a key frame: 3-byte frame tag (bit 0 clear), start code, then 14-bit width and height
    if len(data) < 10 or data[0] & 1 or data[3:6] != b"\x9d\x01\x2a":
        return None
    return int.from_bytes(data[6:8], "little") & 0x3FFF, int.from_bytes(data[8:10], "little") & 0x3FFF


def _webp_vp8l(data: bytes) -> tuple[int, int] | None:
    # signature 0x2f, then width-1 and height-1 in 14 bits each, least significant first
    if len(data) < 5 or data[0] != 0x2F:
        return None
    bits = int.from_bytes(data[1:5], "little")
    return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1


def _webp_vp8x(data: bytes) -> tuple[int, int] | None:
    # flags, 3 reserved bytes, then canvas width-1 and height-1 in 24 bits each
    if len(data) < 10:
        return None
    return int.from_bytes(data[4:7], "little") + 1, int.from_bytes(data[7:10], "little") + 1


_WEBP_CHUNKS: Final = {b"VP8 ": _webp_vp8, b"VP8L": _webp_vp8l, b"VP8X": _webp_vp8x}


def _webp_size(head: bytes) -> tuple[int, int] | None:
    parse = _WEBP_CHUNKS.get(head[12:16])
    return parse(head[20:30]) if parse else None


# --- MP4 --------------------------------------------------------------------------------------


def looks_like_mp4(head: bytes) -> bool:
    """Whether ``head`` starts with an ISO base media ``ftyp`` box (MP4, M4V, MOV with ftyp)."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return False
    return 12 <= int.from_bytes(head[:4], "big") <= 4096


_MAGIC: Final = (
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a truncated or broken PNG"),
    (b"\xff\xd8", "a truncated or broken JPEG"),
    (b"RIFF", "a RIFF file that is not a readable WebP image"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1a\x45\xdf\xa3", "a WebM/Matroska file"),
    (b"BM", "a BMP image"),
)
_TEXT_PREFIXES: Final = (
    ((b"<!doctype html", b"<html", b"<head", b"<body"), "an HTML page"),
    ((b"<?xml", b"<svg"), "an XML or SVG document"),
    ((b"{", b"["), "JSON or other text"),
)


def describe_bytes(head: bytes) -> str:
    """A short human description of what a file starts with, for error messages."""
    image = sniff_image(head)
    description = f"a {image.format.upper()} image" if image else None
    if description is None and not head:
        description = "an empty file"
    if description is None and looks_like_mp4(head):
        description = "an MP4 video"
    description = description or next((text for magic, text in _MAGIC if head.startswith(magic)), None)
    text = head[:512].lstrip().lower()
    description = description or next(
        (name for prefixes, name in _TEXT_PREFIXES if text.startswith(prefixes)), None
    )
    if description is None:
        try:
            head[:512].decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.reason != "unexpected end of data":  # not just a character cut at 512 bytes
                return "unrecognised binary data"
        return "text"
    return description


ReadRange = Callable[[int, int], bytes]


def probe_mp4(read_range: ReadRange, size: int) -> VideoInfo:
    """Duration, size and codec of the video track of an MP4 of ``size`` bytes.

    ``read_range(offset, length)`` must return exactly ``length`` bytes from ``offset``. Only the
    top-level box headers and the ``moov`` box are read, wherever ``moov`` is (before or after
    ``mdat``). Raises :class:`MediaProbeError` for anything that is not a readable MP4 with a video
    track.
    """
    if size < 8:
        raise MediaProbeError(f"not an MP4 file: only {size} bytes")
    moov = _read_moov(read_range, size)
    return _parse_moov(moov)


def _read_exact(read_range: ReadRange, offset: int, length: int) -> bytes:
    data = read_range(offset, length)
    if len(data) != length:
        raise MediaProbeError(
            f"broken MP4: wanted {length} bytes at offset {offset}, the file gave {len(data)}"
        )
    return data


def _read_moov(read_range: ReadRange, size: int) -> bytes:
    offset = 0
    for index in range(MAX_TOP_LEVEL_BOXES):
        if offset >= size:
            break
        header = _read_exact(read_range, offset, min(16, size - offset))
        if len(header) < 8:
            raise MediaProbeError(f"broken MP4: {len(header)} stray bytes at the end of the file")
        if index == 0 and header[4:8] != b"ftyp":
            raise MediaProbeError("not an MP4 file: it does not start with an ftyp box")
        box_type, box_size, header_size = _box_header(header, 0, size - offset)
        if box_type == "moov":
            body = box_size - header_size
            if body > MAX_MOOV_BYTES:
                raise MediaProbeError(
                    f"the MP4 moov box is {body} bytes, more than the {MAX_MOOV_BYTES} this reads"
                )
            return _read_exact(read_range, offset + header_size, body)
        offset += box_size
    else:
        raise MediaProbeError(f"broken MP4: more than {MAX_TOP_LEVEL_BOXES} top-level boxes")
    raise MediaProbeError("broken MP4: there is no moov box (the file may be truncated)")


def _box_header(data: bytes, offset: int, available: int) -> tuple[str, int, int]:
    """Type, whole size and header size of the box at ``offset``; ``available`` bytes remain."""
    if available < 8 or len(data) - offset < 8:
        raise MediaProbeError("broken MP4: a box header is cut short")
    size32, raw_type = struct.unpack_from(">I4s", data, offset)
    if not all(0x20 <= byte < 0x7F for byte in raw_type):
        raise MediaProbeError(f"broken MP4: box type {raw_type!r} at offset {offset} is not a box")
    box_type = raw_type.decode("ascii")
    header_size = 8
    if size32 == 1:
        if len(data) - offset < 16 or available < 16:
            raise MediaProbeError(f"broken MP4: the {box_type} box's 64-bit size is cut short")
        (box_size,) = struct.unpack_from(">Q", data, offset + 8)
        header_size = 16
    elif size32 == 0:
        box_size = available  # the box runs to the end of its container
    else:
        box_size = size32
    if box_size < header_size:
        raise MediaProbeError(f"broken MP4: the {box_type} box claims {box_size} bytes")
    if box_size > available:
        raise MediaProbeError(
            f"broken MP4: the {box_type} box claims {box_size} bytes, only {available} remain"
            " (the file may be truncated)"
        )
    return box_type, box_size, header_size


def _children(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[str, int, int]]:
    """``(type, body_start, body_end)`` of each box between ``start`` and ``end``."""
    end = len(data) if end is None else end
    position = start
    while position < end:
        box_type, box_size, header_size = _box_header(data, position, end - position)
        yield box_type, position + header_size, position + box_size
        position += box_size


def _child(data: bytes, start: int, end: int, wanted: str) -> tuple[int, int] | None:
    for box_type, body_start, body_end in _children(data, start, end):
        if box_type == wanted:
            return body_start, body_end
    return None


def _need(start: int, end: int, length: int, what: str) -> None:
    if end - start < length:
        raise MediaProbeError(f"broken MP4: the {what} box is cut short")


def _duration(data: bytes, start: int, end: int, what: str) -> tuple[int, int]:
    """``(timescale, duration)`` from an ``mvhd`` or ``mdhd`` box body (versions 0 and 1)."""
    _need(start, end, 4, what)
    version = data[start]
    if version == 1:
        _need(start, end, 32, what)
        timescale, duration = struct.unpack_from(">IQ", data, start + 20)
        unknown = 0xFFFFFFFFFFFFFFFF
    elif version == 0:
        _need(start, end, 20, what)
        timescale, duration = struct.unpack_from(">II", data, start + 12)
        unknown = 0xFFFFFFFF
    else:
        raise MediaProbeError(f"broken MP4: {what} version {version} is unknown")
    return timescale, 0 if duration == unknown else duration


def _parse_moov(moov: bytes) -> VideoInfo:
    mvhd = _child(moov, 0, len(moov), "mvhd")
    if mvhd is None:
        raise MediaProbeError("broken MP4: the moov box has no mvhd")
    timescale, duration = _duration(moov, *mvhd, "mvhd")
    for box_type, start, end in _children(moov):
        if box_type != "trak":
            continue
        track = _video_track(moov, start, end)
        if track is None:
            continue
        width, height, codec, track_timescale, track_duration = track
        if duration == 0 or timescale == 0:
            # fragmented files may leave mvhd empty: fall back to the track's own media header
            timescale, duration = track_timescale, track_duration
        if duration == 0 or timescale == 0:
            duration, timescale = _fragment_duration(moov, timescale)
        if timescale == 0 or duration == 0:
            raise MediaProbeError("the MP4 does not say how long it is")
        if width <= 0 or height <= 0:
            raise MediaProbeError("the MP4 video track has no width or height")
        return VideoInfo(width=width, height=height, duration_seconds=duration / timescale, codec=codec)
    raise MediaProbeError("the MP4 has no video track")


def _fragment_duration(moov: bytes, timescale: int) -> tuple[int, int]:
    mvex = _child(moov, 0, len(moov), "mvex")
    mehd = _child(moov, *mvex, "mehd") if mvex else None
    if mehd is None:
        return 0, timescale
    start, end = mehd
    _need(start, end, 8, "mehd")
    if moov[start] == 1:
        _need(start, end, 12, "mehd")
        (duration,) = struct.unpack_from(">Q", moov, start + 4)
    else:
        (duration,) = struct.unpack_from(">I", moov, start + 4)
    return duration, timescale


def _video_track(moov: bytes, start: int, end: int) -> tuple[int, int, str, int, int] | None:
    """``(width, height, codec, timescale, duration)`` if this ``trak`` is a video track."""
    mdia = _child(moov, start, end, "mdia")
    if mdia is None:
        return None
    hdlr = _child(moov, *mdia, "hdlr")
    if hdlr is None:
        return None
    _need(*hdlr, 12, "hdlr")
    if moov[hdlr[0] + 8 : hdlr[0] + 12] != b"vide":
        return None
    width, height = _track_size(moov, start, end)
    mdhd = _child(moov, *mdia, "mdhd")
    timescale, duration = _duration(moov, *mdhd, "mdhd") if mdhd else (0, 0)
    codec, entry_width, entry_height = _sample_entry(moov, *mdia)
    if width <= 0 or height <= 0:
        width, height = entry_width, entry_height
    return width, height, codec, timescale, duration


def _track_size(moov: bytes, start: int, end: int) -> tuple[int, int]:
    tkhd = _child(moov, start, end, "tkhd")
    if tkhd is None:
        raise MediaProbeError("broken MP4: a video track has no tkhd")
    body_start, body_end = tkhd
    _need(body_start, body_end, 1, "tkhd")
    # after version/flags: times, track id, reserved and duration (20 or 32 bytes), then layer,
    # alternate group, volume, reserved and the matrix (52 bytes); width and height are 16.16
    offset = 4 + (32 if moov[body_start] == 1 else 20) + 52
    _need(body_start, body_end, offset + 8, "tkhd")
    width, height = struct.unpack_from(">II", moov, body_start + offset)
    return width >> 16, height >> 16


def _sample_entry(moov: bytes, start: int, end: int) -> tuple[str, int, int]:
    """Codec name and coded size from the first ``stsd`` sample entry of the track's media."""
    minf = _child(moov, start, end, "minf")
    stbl = _child(moov, *minf, "stbl") if minf else None
    stsd = _child(moov, *stbl, "stsd") if stbl else None
    if stsd is None:
        raise MediaProbeError("broken MP4: the video track has no sample description (stsd)")
    body_start, body_end = stsd
    _need(body_start, body_end, 8, "stsd")
    (count,) = struct.unpack_from(">I", moov, body_start + 4)
    if count == 0:
        raise MediaProbeError("broken MP4: the video track's sample description is empty")
    entry = next(_children(moov, body_start + 8, body_end), None)
    if entry is None:
        raise MediaProbeError("broken MP4: the video track's sample description is empty")
    entry_type, entry_start, entry_end = entry
    width = height = 0
    # a visual sample entry: 6 reserved, data reference index, 16 bytes predefined, width, height
    if entry_end - entry_start >= 28:
        width, height = struct.unpack_from(">HH", moov, entry_start + 24)
    codec = _CODEC_NAMES.get(entry_type, entry_type.strip())
    return codec, width, height
