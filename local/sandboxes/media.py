"""Real media for the provider sandboxes, derived from the product image a request names.

Images are drawn with Pillow in the requested format, size, background and quality; videos are
H.264 MP4 (yuv420p, faststart) encoded in-process with PyAV, with a slow pan-and-zoom over the
product so every frame differs.
"""

from __future__ import annotations

import functools
import io
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import httpx
from PIL import Image, ImageColor, ImageDraw, ImageOps, UnidentifiedImageError

MAX_SOURCE_BYTES = 20 * 1024 * 1024


@functools.cache
def http_client() -> httpx.Client:
    """One client for every sandbox request out (image fetches, webhook deliveries).

    Each ``httpx.get``/``httpx.post`` builds a client and its TLS context (tens of ms of CPU):
    under a burst of jobs that was the sandboxes' largest cost. A client is safe across threads.
    Connections are not kept alive: an idle kept-alive connection holds one of the local
    servers' request threads, and a stalled thread behind the shared HTTP container timed out
    other requests.
    """
    return httpx.Client(timeout=30.0, limits=httpx.Limits(max_keepalive_connections=0))


class MediaError(Exception):
    """The source could not be fetched or is not an image."""


def fetch_image(url: str, *, timeout: float = 30.0, max_bytes: int = MAX_SOURCE_BYTES) -> Image.Image:
    """Download ``url`` and decode it; ``MediaError`` if it is unreachable, too big or not an image."""
    try:
        with http_client().stream("GET", url, timeout=timeout, follow_redirects=True) as response:
            if response.status_code != 200:
                raise MediaError(f"fetching the image gave HTTP {response.status_code}")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise MediaError(f"the image is larger than {max_bytes} bytes")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise MediaError(f"the image could not be fetched: {type(exc).__name__}") from exc
    return decode_image(b"".join(chunks))


def decode_image(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise MediaError("the file is not a decodable image") from exc
    if image.format not in {"JPEG", "PNG", "WEBP"}:
        raise MediaError(f"image format {image.format} is not supported (JPEG, PNG, WebP)")
    return ImageOps.exif_transpose(image).convert("RGBA")


def _canvas(size: tuple[int, int], background: str | None, *, allow_alpha: bool) -> Image.Image:
    if background == "transparent" and allow_alpha:
        return Image.new("RGBA", size, (0, 0, 0, 0))
    colour = ImageColor.getrgb(background) if background and background != "transparent" else (244, 241, 236)
    return Image.new("RGBA", size, (*colour[:3], 255))


def compose(
    source: Image.Image,
    size: tuple[int, int],
    *,
    background: str | None = None,
    allow_alpha: bool = False,
    scale: float = 0.8,
    offset: tuple[int, int] = (0, 0),
    caption: str | None = None,
) -> Image.Image:
    """The product fitted into ``size`` on a background, optionally shifted and captioned."""
    canvas = _canvas(size, background, allow_alpha=allow_alpha)
    product = source.copy()
    product.thumbnail((max(1, int(size[0] * scale)), max(1, int(size[1] * scale))), Image.Resampling.LANCZOS)
    x = (size[0] - product.width) // 2 + offset[0]
    y = (size[1] - product.height) // 2 + offset[1]
    canvas.alpha_composite(product, (max(0, x), max(0, y)))
    if caption:
        ImageDraw.Draw(canvas).text((8, size[1] - 18), caption[:60], fill=(40, 40, 40, 255))
    return canvas


def render_image(
    source: Image.Image,
    *,
    size: tuple[int, int],
    fmt: str,
    background: str | None = None,
    quality: int = 90,
    caption: str | None = None,
) -> bytes:
    """Encode a composed image as ``png``, ``jpeg`` or ``webp``."""
    fmt = fmt.lower()
    allow_alpha = fmt in {"png", "webp"}
    image = compose(source, size, background=background, allow_alpha=allow_alpha, caption=caption)
    out = io.BytesIO()
    if fmt == "jpeg":
        image.convert("RGB").save(out, "JPEG", quality=quality)
    elif fmt == "webp":
        image.save(out, "WEBP", quality=quality)
    elif fmt == "png":
        image.save(out, "PNG")
    else:
        raise ValueError(f"unsupported format {fmt}")
    return out.getvalue()


def render_video(
    source: Image.Image, *, size: tuple[int, int], seconds: float, fps: int = 6, caption: str | None = None
) -> bytes:
    """An H.264 MP4 of ``seconds`` at ``fps`` showing the product with a slow zoom and pan."""
    width, height = size[0] - size[0] % 2, size[1] - size[1] % 2
    frames = max(2, round(seconds * fps))
    with tempfile.TemporaryDirectory(prefix="sandbox-video-") as tmp:
        path = Path(tmp) / "out.mp4"
        _encode(source, path, width=width, height=height, frames=frames, fps=fps, caption=caption)
        return path.read_bytes()


def _encode(
    source: Image.Image, path: Path, *, width: int, height: int, frames: int, fps: int, caption: str | None
) -> None:
    # faststart moves the index to the front, which needs a real file to rewrite
    with av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=Fraction(fps, 1))
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "30", "tune": "stillimage"}
        background = _canvas((width, height), None, allow_alpha=False)
        product = source.copy()
        product.thumbnail((int(width * 0.85), int(height * 0.85)), Image.Resampling.LANCZOS)
        for index in range(frames):
            progress = index / (frames - 1)
            scale = 0.65 + 0.35 * progress
            size = (max(1, int(product.width * scale)), max(1, int(product.height * scale)))
            moving = product.resize(size, Image.Resampling.BILINEAR)
            canvas = background.copy()
            x = (width - size[0]) // 2 + int((progress - 0.5) * width * 0.1)
            canvas.alpha_composite(moving, (max(0, x), (height - size[1]) // 2))
            if caption:
                ImageDraw.Draw(canvas).text((8, height - 18), caption[:60], fill=(40, 40, 40, 255))
            frame = av.VideoFrame.from_image(canvas.convert("RGB")).reformat(format="yuv420p")  # type: ignore[no-untyped-call]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def sample_product(size: tuple[int, int] = (800, 800)) -> Image.Image:
    """A drawn product (a bottle on a plain field) for tests and demos that need a source image."""
    image = Image.new("RGBA", size, (255, 255, 255, 255))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.rounded_rectangle(
        (w * 0.35, h * 0.25, w * 0.65, h * 0.85), radius=int(w * 0.05), fill=(32, 110, 180, 255)
    )
    draw.rectangle((w * 0.44, h * 0.12, w * 0.56, h * 0.26), fill=(20, 20, 20, 255))
    draw.rectangle((w * 0.38, h * 0.45, w * 0.62, h * 0.6), fill=(250, 250, 250, 255))
    draw.text((w * 0.41, h * 0.5), "MEDIAJOBS", fill=(32, 110, 180, 255))
    return image
