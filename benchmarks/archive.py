"""Benchmark: archiving one large output from an HTTP source into S3 (moto), against the baselines.

For each size it measures, each in a fresh subprocess so its peak RSS is its own:

- ``ours``: :func:`mediajobs.archive.archive_url` (parts sent ``--window`` at a time, checksummed);
- ``upload_fileobj``: boto3's transfer manager reading the same HTTP stream (up to 10 parts at
  once, 8 MiB each);
- ``download``: the HTTP stream read to ``/dev/null``, the most any archive could reach here.

The moto server (``ThreadedMotoServer`` on a free port) and the HTTP source run in one more
process, so their memory is not counted. Figures are printed, never asserted.

    python -m benchmarks.archive [--sizes 50 500] [--repeat 1]     (make bench BENCH=archive)
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import resource
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config

MB = 1_000_000
MIB = 1024 * 1024
BUCKET = "mediajobs-archive-bench"
LAYER = Path(__file__).resolve().parents[1] / "layers" / "mediajobs"
MODES = ("ours", "upload_fileobj", "download")
_BLOCK = os.urandom(MIB)  # the source repeats one random MiB: generating bytes must cost nothing
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


# --- the servers' process -----------------------------------------------------------------------


class _Source(BaseHTTPRequestHandler):
    """``GET /<bytes>``: that many bytes, with a Content-Length, written a MiB at a time."""

    def do_GET(self) -> None:
        size = int(self.path.strip("/"))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        view = memoryview(_BLOCK)
        left = size
        while left > 0:
            self.wfile.write(view[: min(left, MIB)])
            left -= MIB

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        """Silent: a request line per run is noise."""


def serve() -> None:
    """Runs moto's S3 and the HTTP source on free ports, prints them, and serves until killed."""
    from moto.server import ThreadedMotoServer  # noqa: PLC0415 - only this process needs moto

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request is noise
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    moto_port = moto.get_host_and_port()[1]
    source = ThreadingHTTPServer(("127.0.0.1", 0), _Source)
    threading.Thread(target=source.serve_forever, daemon=True).start()
    print(json.dumps({"moto_port": moto_port, "source_port": source.server_port}), flush=True)
    threading.Event().wait()


# --- one measured run (its own process) ---------------------------------------------------------


class _HttpReader(io.RawIOBase):
    """An httpx stream as the file object ``upload_fileobj`` reads."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._left = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        if not self._left:
            self._left = memoryview(next(self._chunks, b""))
        count = min(len(target), len(self._left))
        target[:count] = self._left[:count]
        self._left = self._left[count:]
        return count


def s3_client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, config=Config(max_pool_connections=16))


def measure(mode: str, url: str, endpoint: str, size: int, window: int) -> dict[str, Any]:
    key = f"bench/{uuid.uuid4().hex}"
    timeout = httpx.Timeout(connect=5.0, read=120.0, write=120.0, pool=5.0)
    sys.path.insert(0, str(LAYER))
    from mediajobs.archive import archive_url  # noqa: PLC0415 - the layer is on the path now
    from mediajobs.fetching import UrlPolicy  # noqa: PLC0415

    s3 = s3_client(endpoint)
    with httpx.Client(timeout=timeout) as http:
        started = time.perf_counter()
        if mode == "ours":
            stored = archive_url(
                s3_client=s3,
                http_client=http,
                url=url,
                bucket=BUCKET,
                key=key,
                policy=UrlPolicy(allow_loopback=True),
                max_bytes=size,
                window=window,
                timeout=timeout,
            )
            moved = stored.bytes
        elif mode == "upload_fileobj":
            with http.stream("GET", url) as response:
                reader = io.BufferedReader(_HttpReader(response.iter_bytes()), buffer_size=256 * 1024)
                s3.upload_fileobj(reader, BUCKET, key)
                moved = int(response.headers["content-length"])
        else:
            moved = 0
            with http.stream("GET", url) as response, Path(os.devnull).open("wb") as sink:
                for chunk in response.iter_bytes():
                    sink.write(chunk)
                    moved += len(chunk)
        seconds = time.perf_counter() - started
    if mode != "download":
        s3.delete_object(Bucket=BUCKET, Key=key)  # moto keeps objects in memory
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"mode": mode, "bytes": moved, "seconds": seconds, "peak_rss_mib": peak_kib / 1024}


# --- the driver ---------------------------------------------------------------------------------


def run_child(args: list[str]) -> dict[str, Any]:
    env = os.environ | CREDENTIALS | {"POWERTOOLS_LOG_LEVEL": "WARNING"}
    done = subprocess.run(  # noqa: S603 - our own interpreter running this module
        [sys.executable, "-m", "benchmarks.archive", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark run failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 500], help="output sizes in MB")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size and mode (best is kept)")
    parser.add_argument("--window", type=int, default=4, help="parts our archive sends at once")
    parser.add_argument("--measure", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    if args.measure:
        size = args.sizes[0] * MB
        print(json.dumps(measure(args.measure, args.url, args.endpoint, size, args.window)))
        return

    servers = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.archive", "--serve"],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | CREDENTIALS,
    )
    try:
        assert servers.stdout is not None
        ports = json.loads(servers.stdout.readline())
        endpoint = f"http://127.0.0.1:{ports['moto_port']}"
        for name, value in CREDENTIALS.items():
            os.environ.setdefault(name, value)
        s3_client(endpoint).create_bucket(Bucket=BUCKET)
        rows: list[dict[str, Any]] = []
        for size_mb in args.sizes:
            url = f"http://127.0.0.1:{ports['source_port']}/{size_mb * MB}"
            for mode in MODES:
                runs = [
                    run_child(
                        [
                            *("--measure", mode, "--url", url, "--endpoint", endpoint),
                            *("--sizes", str(size_mb), "--window", str(args.window)),
                        ]
                    )
                    for _ in range(args.repeat)
                ]
                best = min(runs, key=lambda run: run["seconds"])
                best["size_mb"] = size_mb
                rows.append(best)
                print(f"  {size_mb} MB {mode}: {best['bytes'] / MB / best['seconds']:.0f} MB/s", flush=True)
    finally:
        servers.terminate()
        servers.wait(timeout=10)
    print_table(rows, args.window)


def print_table(rows: list[dict[str, Any]], window: int) -> None:
    print(f"\nArchive of one output, HTTP (loopback) -> moto S3; ours sends {window} parts of 8 MiB at once.")
    header = f"{'size':>7}  {'mode':<15} {'MB/s':>7} {'peak RSS':>10} {'MB/s ratio':>11} {'RSS ratio':>10}"
    print(header)
    print("-" * len(header))
    by_key = {(row["size_mb"], row["mode"]): row for row in rows}
    for row in rows:
        rate = row["bytes"] / MB / row["seconds"]
        baseline = by_key.get((row["size_mb"], "upload_fileobj"))
        ratios = ""
        if row["mode"] == "ours" and baseline is not None:
            base_rate = baseline["bytes"] / MB / baseline["seconds"]
            ratios = f"{rate / base_rate:>10.2f}x {row['peak_rss_mib'] / baseline['peak_rss_mib']:>9.2f}x"
        print(
            f"{row['size_mb']:>4} MB  {row['mode']:<15} {rate:>7.0f} {row['peak_rss_mib']:>7.0f} MiB {ratios}"
        )
    print("ratios: ours / upload_fileobj; peak RSS is each run's own process (ru_maxrss)")


if __name__ == "__main__":
    main()
