"""Checks that a saved output really is the media the API described (decoded, not just present)."""

from __future__ import annotations

from pathlib import Path

import av
from PIL import Image

from mediajobs_client import Output


def check_image(path: Path, output: Output, fmt: str) -> Image.Image:
    """``path`` decodes as a ``fmt`` image of the size the API reported."""
    with Image.open(path) as image:
        image.load()
        assert image.format == fmt
        assert (image.width, image.height) == (output.width, output.height)
        return image.copy()


def check_h264(path: Path, output: Output) -> float:
    """``path`` is an MP4 whose video stream is H.264 of the reported size; its frames decode."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.width, stream.height) == (output.width, output.height)
        frames = sum(1 for _ in container.decode(video=0))
        duration = float(container.duration or 0) / 1_000_000
    assert frames > 0
    assert output.codec == "h264"
    return duration
