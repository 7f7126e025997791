"""``make demo``: the main job on the embedded local stack, driven through its HTTPS API like a client.

Starts the local stack (moto, the state machines, the functions, the provider sandboxes) and a
sample shop serving the product image that ships with the repo, then:

- creates one job per provider (``POST /v1/jobs``),
- uploads the product image through a presigned POST (``POST /v1/uploads``): the S3 upload
  trigger starts that job,
- sends a small batch (``POST /v1/batches``),

shows progress, downloads every output through its presigned URL into ``out/``, checks each
file's sha256 against the job record, prints a summary and exits 0 only if every job succeeded.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from local.sample_shop import SampleShop
from local.stack import SAMPLE_PRODUCT, LocalStack

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "video/mp4": "mp4"}
FINAL = {"succeeded", "failed", "cancelled"}


@dataclass
class DemoJob:
    label: str
    body: dict[str, Any]
    job_id: str = ""
    status: str = "new"
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    record: dict[str, Any] = field(default_factory=dict)
    files: list[tuple[Path, int, str]] = field(default_factory=list)


def demo_jobs(shop: SampleShop) -> list[DemoJob]:
    image = shop.url("product.png")
    return [
        DemoJob(
            "prodvisual",
            {
                "provider": "prodvisual",
                "product": {"image_url": image},
                "options": {"style": "lifestyle", "platform": "amazon", "format": "png"},
                "metadata": {"sku": "AUR-750"},
            },
        ),
        DemoJob(
            "creatify",
            {
                "provider": "creatify",
                "product": {"image_url": image},
                "options": {"aspect_ratio": "9x16", "video_prompt": "slow turntable on a kitchen counter"},
            },
        ),
        DemoJob(
            "jogg",
            {
                "provider": "jogg",
                "product": {"page_url": shop.url("page.html"), "target_audience": "hikers and commuters"},
                "options": {"aspect_ratio": "landscape", "length": "15", "script_style": "Discovery"},
            },
        ),
    ]


def run(out_dir: Path, timeout: float) -> int:
    shop = SampleShop()
    stack = LocalStack(api_port=0, quiet=True).start()
    try:
        client = httpx.Client(
            base_url=stack.api_url, headers={"Authorization": f"Bearer {stack.api_key}"}, timeout=30.0
        )
        print(f"Local stack: {stack.api_url} (API key {stack.api_key})")
        jobs = demo_jobs(shop)
        for job in jobs:
            answer = client.post("/v1/jobs", json=job.body)
            if answer.status_code != 202:
                print(f"  {job.label}: refused {answer.status_code} {answer.text}")
                job.status = "refused"
                continue
            job.job_id = answer.json()["job_id"]
            job.status = answer.json()["status"]
            print(f"  {job.label:<11} job {job.job_id} {job.status}")
        upload_job = start_upload(client)
        if upload_job is not None:
            jobs.append(upload_job)
        batch_id, batch_jobs = start_batch(client, shop)
        jobs += batch_jobs
        wait_for(client, [j for j in jobs if j.job_id], timeout)
        batch_ok = wait_batch(client, batch_id, timeout) if batch_id else False
        for job in jobs:
            if job.status == "succeeded":
                download(job, out_dir)
        print_summary(jobs)
        return 0 if batch_ok and all(j.status == "succeeded" for j in jobs) else 1
    finally:
        stack.stop()
        shop.stop()


def start_upload(client: httpx.Client) -> DemoJob | None:
    """A client app uploading the product photo itself: the S3 upload trigger starts the job."""
    spec = {"provider": "prodvisual", "product": {}, "options": {"style": "white_bg", "format": "jpeg"}}
    answer = client.post("/v1/uploads", params={"filename": "sample-product.png"}, json=spec)
    if answer.status_code != 201:
        print(f"  upload: refused {answer.status_code} {answer.text}")
        return None
    upload = answer.json()
    form = {"Content-Type": "image/png"} | upload["fields"]
    files = {"file": ("sample-product.png", SAMPLE_PRODUCT.read_bytes(), "image/png")}
    posted = httpx.post(upload["url"], data=form, files=files, timeout=30.0)
    print(f"  upload      {upload['upload_id']} posted to S3 ({posted.status_code})")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = client.get(f"/v1/uploads/{upload['upload_id']}").json()
        if state["status"] == "started":
            job = DemoJob("upload", spec, job_id=state["job_id"], status="queued")
            print(f"  upload      job {job.job_id} started by the S3 trigger")
            return job
        if state["status"] == "failed":
            print(f"  upload      failed: {state['error']}")
            return None
        time.sleep(0.2)
    return None


def start_batch(client: httpx.Client, shop: SampleShop) -> tuple[str, list[DemoJob]]:
    """Three items in one request: two ProdVisual styles (one provider batch) and a Creatify preview."""
    image = shop.url("product.png")
    items = [
        {"provider": "prodvisual", "product": {"image_url": image}, "options": {"style": "mockup"}},
        {"provider": "prodvisual", "product": {"image_url": image}, "options": {"style": "hero_banner"}},
        {"provider": "creatify", "product": {"image_url": image}, "options": {"stop_after": "image"}},
    ]
    answer = client.post("/v1/batches", json={"items": items})
    if answer.status_code != 202:
        print(f"  batch: refused {answer.status_code} {answer.text}")
        return "", []
    batch = answer.json()
    print(f"  batch       {batch['batch_id']} with {batch['total']} items")
    labels = ["batch-0", "batch-1", "batch-2"]
    return batch["batch_id"], [
        DemoJob(label, item, job_id=job_id, status="queued")
        for label, item, job_id in zip(labels, items, batch["job_ids"], strict=True)
    ]


def wait_batch(client: httpx.Client, batch_id: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = client.get(f"/v1/batches/{batch_id}").json()
        if batch["status"] == "completed":
            print(f"  batch       {batch_id} completed: {batch['counts']}")
            return True
        time.sleep(0.5)
    print(f"  batch       {batch_id} not completed in time")
    return False


def wait_for(client: httpx.Client, jobs: list[DemoJob], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(j.status not in FINAL for j in jobs):
        for job in jobs:
            if job.status in FINAL:
                continue
            record = client.get(f"/v1/jobs/{job.job_id}").json()
            progress = f"{record['status']}/{record.get('stage') or '-'}"
            if progress != f"{job.status}/{job.record.get('stage') or '-'}":
                elapsed = time.monotonic() - job.started
                print(f"  {job.label:<11} {elapsed:5.1f}s  {progress}")
            job.status, job.record = record["status"], record
            if job.status in FINAL:
                job.finished = time.monotonic()
        time.sleep(0.5)


def download(job: DemoJob, out_dir: Path) -> None:
    folder = out_dir / job.label
    folder.mkdir(parents=True, exist_ok=True)
    for output in job.record["outputs"]:
        data = httpx.get(output["download_url"], timeout=60.0).content
        digest = hashlib.sha256(data).hexdigest()
        if digest != output["sha256"]:
            job.status = "checksum-mismatch"
        path = folder / f"{output['kind']}.{EXTENSIONS.get(output['content_type'], 'bin')}"
        path.write_bytes(data)
        job.files.append((path, len(data), describe(output)))


def describe(output: dict[str, Any]) -> str:
    size = f"{output.get('width')}x{output.get('height')}" if output.get("width") else ""
    duration = f" {output['duration_seconds']:.1f}s" if output.get("duration_seconds") else ""
    codec = f" {output['codec']}" if output.get("codec") else ""
    return f"{output['content_type']} {size}{duration}{codec}"


def print_summary(jobs: list[DemoJob]) -> None:
    print("\nSummary")
    for job in jobs:
        took = f"{job.finished - job.started:.1f}s" if job.finished else "-"
        stages = " -> ".join(
            f"{t['stage']}:{t['provider_status']}" for t in job.record.get("provider_jobs", [])
        )
        print(f"  {job.label:<11} {job.status:<10} {took:>6}  stages: {stages or '-'}")
        if job.record.get("error"):
            print(f"      error: {job.record['error']['code']}: {job.record['error']['message']}")
        for path, size, what in job.files:
            print(f"      {path}  {size:>9,} bytes  {what}")


def main() -> None:
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args()
    sys.exit(run(args.out, args.timeout))


if __name__ == "__main__":
    main()
