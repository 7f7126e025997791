"""``mediajobs``: run jobs and batches, follow them live, download what they made.

mediajobs run prodvisual ./product.png --style lifestyle -o out/
mediajobs run creatify --image-url https://shop.example/p.png --aspect-ratio 9x16 -o out/
mediajobs run jogg --page-url https://shop.example/p.html --length 15 -o out/
mediajobs jobs list --status succeeded --json
mediajobs jobs events JOB_ID
mediajobs deliveries list --status failed
mediajobs deliveries replay msg_0123456789abcdef01234567
mediajobs batch run manifest.csv -o out/
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from mediajobs_client import config
from mediajobs_client.client import Client, RunResult
from mediajobs_client.errors import JobFailedError, MediajobsError
from mediajobs_client.models import Batch, Job

#: the most items one ``POST /v1/batches`` takes; a longer manifest becomes several batches
MAX_BATCH_ITEMS = 500
PIPE_WIDTH = 160
PRODUCT_COLUMNS = ("image_url", "page_url", "title", "description", "target_audience")


@dataclass
class State:
    """What the group's options decided, shared with every command."""

    api_url: str | None
    api_key: str | None
    config_path: str | None
    json: bool
    out: Console
    err: Console
    _client: Client | None = field(default=None, repr=False)

    def client(self) -> Client:
        if self._client is None:
            settings = config.resolve(
                api_url=self.api_url, api_key=self.api_key, config_path=self.config_path
            )
            self._client = Client(settings.api_url, settings.api_key)
            click.get_current_context().call_on_close(self._client.close)
        return self._client


def _state() -> State:
    state = click.get_current_context().find_object(State)
    if state is None:
        raise click.UsageError("mediajobs commands run under the mediajobs group")
    return state


def _dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [_dump(item) for item in value]
    if isinstance(value, dict):
        return {key: _dump(item) for key, item in value.items()}
    return value


def _print_json(value: Any) -> None:
    click.echo(json.dumps(_dump(value), indent=2))


class MediajobsGroup(click.Group):
    """Turns SDK errors into a one-line message (or a JSON error with ``--json``) and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MediajobsError as exc:
            state = ctx.find_object(State)
            if state is not None and state.json:
                error: dict[str, Any] = {
                    "status": exc.status,
                    "code": exc.code,
                    "message": exc.message,
                    "details": exc.details,
                }
                if isinstance(exc, JobFailedError):
                    error["job"] = exc.job.model_dump(mode="json")
                click.echo(json.dumps({"error": error}, indent=2))
                ctx.exit(1)
            raise click.ClickException(str(exc)) from exc


def json_flag[F: Callable[..., Any]](command: F) -> F:
    """``--json`` on a command as well as on the group (``mediajobs jobs list --json``)."""

    def enable(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            state = ctx.find_object(State)
            if state is not None:
                state.json = True

    option = click.option(
        "--json", "as_json", is_flag=True, expose_value=False, callback=enable, help="print JSON for scripts"
    )
    return option(command)


@click.group(cls=MediajobsGroup)
@click.option("--api-url", envvar=config.URL_VARIABLE, help="API base URL  [env MEDIAJOBS_API_URL]")
@click.option("--api-key", envvar=config.KEY_VARIABLE, help="API key  [env MEDIAJOBS_API_KEY]")
@click.option(
    "--config", "config_path", envvar=config.CONFIG_VARIABLE, help="TOML file with api_url and api_key"
)
@click.option("--json", "as_json", is_flag=True, help="print JSON for scripts")
@click.version_option(package_name="mediajobs-client", prog_name="mediajobs")
@click.pass_context
def cli(
    ctx: click.Context, api_url: str | None, api_key: str | None, config_path: str | None, as_json: bool
) -> None:
    """Turn products into marketing media with mediajobs (Creatify, JoggAI, ProdVisual)."""
    ctx.obj = State(
        api_url=api_url,
        api_key=api_key,
        config_path=config_path,
        json=as_json,
        out=_console(stderr=False),
        err=_console(stderr=True),
    )


def _console(*, stderr: bool) -> Console:
    console = Console(stderr=stderr, soft_wrap=True)
    if not console.is_terminal:
        console.width = PIPE_WIDTH  # a pipe or a log file: do not squeeze tables into 80 columns
    return console


# -- live progress --------------------------------------------------------------------------------


def describe(job: Job, stages: Sequence[str]) -> str:
    """One line: status, stage (n/m), provider status, percent and ETA when the API reports them."""
    parts = [job.status]
    progress = job.progress
    if progress is not None:
        parts.append(f"stage {progress.stage} ({progress.stage_index}/{progress.stage_count})")
    elif job.stage is not None:
        where = f" ({stages.index(job.stage) + 1}/{len(stages)})" if job.stage in stages else ""
        parts.append(f"stage {job.stage}{where}")
    if job.provider_status:
        parts.append(f"provider {job.provider_status}")
    if progress is not None and progress.percent is not None:
        parts.append(f"{progress.percent:.0f}%")
    if progress is not None and progress.eta_seconds is not None:
        parts.append(f"eta {progress.eta_seconds:.0f}s")
    return " · ".join(parts)


class JobDisplay:
    """A live spinner line on a terminal; one plain line per change otherwise (logs, CI, pipes)."""

    def __init__(self, console: Console, stages: Sequence[str]) -> None:
        self.console = console
        self.stages = stages
        self.started = time.monotonic()
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.label = "job"

    @contextmanager
    def running(self, label: str) -> Iterator[JobDisplay]:
        self.label = label
        self.started = time.monotonic()
        if not self.console.is_terminal:
            self.console.print(f"{label}: started")
            yield self
            return
        with Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[label]}[/] {task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        ) as progress:
            self.progress = progress
            self.task = progress.add_task("submitting", total=None, label=label)
            yield self
        self.progress = None

    def update(self, job: Job) -> None:
        text = describe(job, self.stages)
        percent = job.progress.percent if job.progress is not None else None
        if self.progress is not None and self.task is not None:
            done = job.final
            self.progress.update(
                self.task,
                description=text,
                label=f"{self.label} {job.job_id}",
                total=100 if percent is not None or done else None,
                completed=100 if done else (percent or 0),
            )
            return
        elapsed = time.monotonic() - self.started
        self.console.print(f"{self.label} {job.job_id}: {text} · {elapsed:.1f}s")


def _provider_stages(client: Client, provider: str) -> list[str]:
    try:
        catalog = client.providers.list()
    except MediajobsError:
        return []  # the display only loses its "n/m"
    return next((p.stages for p in catalog if p.provider == provider), [])


# -- run ------------------------------------------------------------------------------------------


def _metadata(pairs: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not key=value", param_hint="--metadata")
        found[key] = value
    return found


def _saved_table(result: RunResult) -> Table:
    table = Table(title=f"job {result.job.job_id} {result.job.status}")
    for column in ("file", "kind", "type", "bytes", "size", "sha256"):
        table.add_column(column)
    for path, output in zip(result.files, result.job.outputs, strict=True):
        if output.duration_seconds is not None:
            size = (
                f"{output.width}x{output.height} {output.duration_seconds:.1f}s {output.codec or ''}".strip()
            )
        elif output.width:
            size = f"{output.width}x{output.height}"
        else:
            size = ""
        table.add_row(
            path.name, output.kind, output.content_type, str(output.bytes), size, output.sha256[:12]
        )
    return table


def _run(
    provider: str,
    file: Path | None,
    product: dict[str, Any],
    options: dict[str, Any],
    *,
    output_dir: Path,
    download: bool,
    webhook_url: str | None,
    metadata: Sequence[str],
    timeout: float,
    fallback: Sequence[str] = (),
) -> None:
    state = _state()
    client = state.client()
    product = {name: value for name, value in product.items() if value is not None}
    options = {name: value for name, value in options.items() if value is not None}
    display = JobDisplay(state.err, _provider_stages(client, provider))
    fallbacks = [_fallback(spec) for spec in fallback]
    if file is not None and fallbacks:
        raise click.UsageError("--fallback needs --image-url (an uploaded FILE runs on one provider)")
    with display.running(provider):
        if file is not None:
            upload = client.uploads.create_from_file(
                file,
                provider=provider,
                options=options,
                product=product,
                webhook_url=webhook_url,
                metadata=_metadata(metadata),
            )
            if upload.job_id is None:
                raise MediajobsError(f"upload {upload.upload_id} started no job", code="upload_failed")
            job_id = upload.job_id
        else:
            job_id = client.jobs.create(
                provider=provider,
                product=product,
                options=options,
                webhook_url=webhook_url,
                metadata=_metadata(metadata),
                fallback=fallbacks,
            ).job_id
        result = client.jobs.finish(
            job_id, download_to=output_dir if download else None, on_update=display.update, timeout=timeout
        )
    if state.json:
        _print_json({"job": result.job, "files": result.files})
        return
    if result.files:
        state.out.print(_saved_table(result))
        state.out.print(f"saved {len(result.files)} file(s) to {output_dir}")
    else:
        state.out.print(f"job {result.job.job_id} {result.job.status}: {len(result.job.outputs)} output(s)")


def _fallback(spec: str) -> dict[str, Any]:
    """``creatify`` or ``creatify:{"stop_after": "image"}``: one fallback of ``POST /v1/jobs``."""
    provider, _, options = spec.partition(":")
    fallback: dict[str, Any] = {"provider": provider.strip()}
    if options.strip():
        try:
            fallback["options"] = json.loads(options)
        except ValueError as exc:
            raise click.BadParameter(
                f"{spec!r}: the options are not JSON ({exc})", param_hint="--fallback"
            ) from exc
    return fallback


def run_options[F: Callable[..., Any]](command: F) -> F:
    """The options every ``run`` subcommand shares."""
    for option in reversed(
        [
            click.argument(
                "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
            ),
            click.option("--image-url", help="the product image's URL (instead of FILE)"),
            click.option(
                "-o",
                "--output-dir",
                type=click.Path(file_okay=False, path_type=Path),
                default=Path(),
                show_default=True,
                help="where to save the outputs",
            ),
            click.option("--no-download", is_flag=True, help="do not download the outputs"),
            click.option("--webhook-url", help="where mediajobs POSTs the job's final state"),
            click.option(
                "--metadata", "-m", multiple=True, metavar="KEY=VALUE", help="your own keys, repeatable"
            ),
            click.option("--timeout", type=float, default=900.0, show_default=True, help="seconds to wait"),
            click.option(
                "--fallback",
                multiple=True,
                metavar="PROVIDER[:OPTIONS_JSON]",
                help="a provider to try if this one fails for good, repeatable (with --image-url)",
            ),
            json_flag,
        ]
    ):
        command = option(command)
    return command


def _image_source(file: Path | None, image_url: str | None, *, required: bool) -> None:
    if file is not None and image_url is not None:
        raise click.UsageError("give FILE or --image-url, not both")
    if required and file is None and image_url is None:
        raise click.UsageError("give the product image: FILE or --image-url")


@cli.group()
def run() -> None:
    """Run one job: create it, follow it live, download its outputs."""


@run.command("prodvisual")
@run_options
@click.option("--style", required=True, help="a style id (mediajobs styles)")
@click.option("--platform", help="amazon, ebay, etsy, shopify...")
@click.option("--dimensions", metavar="WxH")
@click.option("--background", metavar="#RRGGBB|transparent")
@click.option("--format", "image_format", type=click.Choice(["png", "jpeg", "webp"]))
@click.option("--quality", type=click.IntRange(1, 100))
def run_prodvisual(
    *,
    file: Path | None,
    image_url: str | None,
    output_dir: Path,
    no_download: bool,
    webhook_url: str | None,
    metadata: tuple[str, ...],
    timeout: float,
    fallback: tuple[str, ...],
    style: str,
    platform: str | None,
    dimensions: str | None,
    background: str | None,
    image_format: str | None,
    quality: int | None,
) -> None:
    """Styled product shots from FILE (uploaded) or --image-url."""
    _image_source(file, image_url, required=True)
    options = {
        "style": style,
        "platform": platform,
        "dimensions": dimensions,
        "background": background,
        "format": image_format,
        "quality": quality,
    }
    _run(
        "prodvisual",
        file,
        {"image_url": image_url},
        options,
        output_dir=output_dir,
        download=not no_download,
        webhook_url=webhook_url,
        metadata=metadata,
        timeout=timeout,
        fallback=fallback,
    )


@run.command("creatify")
@run_options
@click.option("--aspect-ratio", type=click.Choice(["16x9", "9x16", "1x1"]))
@click.option("--type", "video_type", type=click.Choice(["product_anyshot", "product_avatar"]))
@click.option("--image-prompt")
@click.option("--video-prompt")
@click.option("--motion-style")
@click.option("--stop-after", type=click.Choice(["image", "video"]), help="'image': only the preview")
def run_creatify(
    *,
    file: Path | None,
    image_url: str | None,
    output_dir: Path,
    no_download: bool,
    webhook_url: str | None,
    metadata: tuple[str, ...],
    timeout: float,
    fallback: tuple[str, ...],
    aspect_ratio: str | None,
    video_type: str | None,
    image_prompt: str | None,
    video_prompt: str | None,
    motion_style: str | None,
    stop_after: str | None,
) -> None:
    """A preview image, then a product video, from FILE (uploaded) or --image-url."""
    _image_source(file, image_url, required=True)
    options = {
        "aspect_ratio": aspect_ratio,
        "type": video_type,
        "image_prompt": image_prompt,
        "video_prompt": video_prompt,
        "motion_style": motion_style,
        "stop_after": stop_after,
    }
    _run(
        "creatify",
        file,
        {"image_url": image_url},
        options,
        output_dir=output_dir,
        download=not no_download,
        webhook_url=webhook_url,
        metadata=metadata,
        timeout=timeout,
        fallback=fallback,
    )


@run.command("jogg")
@run_options
@click.option("--page-url", help="the product page JoggAI reads")
@click.option("--title", help="the product's name (without --page-url)")
@click.option("--description", help="the product's description (without --page-url)")
@click.option("--target-audience")
@click.option("--aspect-ratio", type=click.Choice(["portrait", "landscape", "square"]))
@click.option("--length", type=click.Choice(["15", "30", "60"]), help="seconds")
@click.option("--script-style", help="e.g. Storytime, Discovery, 'Top 3 reasons'")
@click.option("--language")
@click.option("--caption/--no-caption", default=None)
@click.option("--override-script", help="the script to speak, word for word")
def run_jogg(
    *,
    file: Path | None,
    image_url: str | None,
    output_dir: Path,
    no_download: bool,
    webhook_url: str | None,
    metadata: tuple[str, ...],
    timeout: float,
    fallback: tuple[str, ...],
    page_url: str | None,
    title: str | None,
    description: str | None,
    target_audience: str | None,
    aspect_ratio: str | None,
    length: str | None,
    script_style: str | None,
    language: str | None,
    caption: bool | None,
    override_script: str | None,
) -> None:
    """An avatar video from --page-url, or from --title/--description and FILE or --image-url."""
    _image_source(file, image_url, required=False)
    if page_url is None and title is None:
        raise click.UsageError("give --page-url, or --title (with --description and an image)")
    product = {
        "image_url": image_url,
        "page_url": page_url,
        "title": title,
        "description": description,
        "target_audience": target_audience,
    }
    options = {
        "aspect_ratio": aspect_ratio,
        "length": length,
        "script_style": script_style,
        "language": language,
        "caption": caption,
        "override_script": override_script,
    }
    _run(
        "jogg",
        file,
        product,
        options,
        output_dir=output_dir,
        download=not no_download,
        webhook_url=webhook_url,
        metadata=metadata,
        timeout=timeout,
        fallback=fallback,
    )


# -- jobs -----------------------------------------------------------------------------------------


@cli.group()
def jobs() -> None:
    """List, show, cancel and wait for jobs."""


@jobs.command("list")
@click.option(
    "--status",
    type=click.Choice(
        ["queued", "running", "waiting_credits", "archiving", "succeeded", "failed", "cancelled"]
    ),
)
@click.option("--provider", type=click.Choice(["creatify", "jogg", "prodvisual"]))
@click.option("--limit", type=click.IntRange(min=1), help="at most this many jobs (default: all)")
@json_flag
def jobs_list(status: str | None, provider: str | None, limit: int | None) -> None:
    """Your jobs, newest first (every page)."""
    state = _state()
    found = []
    for summary in state.client().jobs.list(
        status=status, provider=provider, page_size=min(limit or 100, 100)
    ):
        found.append(summary)
        if limit is not None and len(found) >= limit:
            break
    if state.json:
        _print_json(found)
        return
    table = Table(title=f"{len(found)} job(s)")
    for column in ("job", "provider", "status", "stage", "created", "error"):
        table.add_column(column)
    for job in found:
        table.add_row(
            job.job_id,
            job.provider,
            job.status,
            job.stage or "",
            job.created_at.isoformat(timespec="seconds"),
            job.error.code if job.error else "",
        )
    state.out.print(table)


def _show_job(job: Job) -> None:
    state = _state()
    if state.json:
        _print_json(job)
        return
    state.out.print(f"[bold]{job.job_id}[/] {job.provider} {describe(job, [])}")
    if job.error is not None:
        state.out.print(f"error {job.error.code}: {job.error.message}")
    for output in job.outputs:
        state.out.print(f"  {output.kind} {output.content_type} {output.bytes} bytes sha256 {output.sha256}")


@jobs.command("get")
@click.argument("job_id")
@json_flag
def jobs_get(job_id: str) -> None:
    """Show one job."""
    _show_job(_state().client().jobs.get(job_id))


@jobs.command("cancel")
@click.argument("job_id")
@json_flag
def jobs_cancel(job_id: str) -> None:
    """Cancel a job that is not final yet."""
    _show_job(_state().client().jobs.cancel(job_id))


@jobs.command("wait")
@click.argument("job_id")
@click.option("-o", "--output-dir", type=click.Path(file_okay=False, path_type=Path), help="download here")
@click.option("--timeout", type=float, default=900.0, show_default=True)
@json_flag
def jobs_wait(job_id: str, output_dir: Path | None, timeout: float) -> None:
    """Follow a job until it is final; optionally download its outputs."""
    state = _state()
    client = state.client()
    display = JobDisplay(state.err, [])
    with display.running("job"):
        result = client.jobs.finish(job_id, download_to=output_dir, on_update=display.update, timeout=timeout)
    if state.json:
        _print_json({"job": result.job, "files": result.files})
    elif result.files:
        state.out.print(_saved_table(result))
    else:
        _show_job(result.job)


# -- batch ----------------------------------------------------------------------------------------


def read_manifest(path: Path) -> list[dict[str, Any]]:
    """Job specs from a CSV: ``provider``, product columns (``image_url``, ``page_url``, ``title``,
    ``description``, ``target_audience``), ``webhook_url``, ``external_id``, ``metadata.<key>``
    columns, and every other column an option of that provider (``style``, ``aspect_ratio``,
    ``length``...). Empty cells are left out."""
    items: list[dict[str, Any]] = []
    with path.open(newline="", encoding="utf-8") as source:
        for line, row in enumerate(csv.DictReader(source), start=2):
            cells = {name.strip(): (value or "").strip() for name, value in row.items() if name}
            provider = cells.pop("provider", "")
            if not provider:
                raise click.BadParameter(f"line {line}: no provider", param_hint="MANIFEST")
            item: dict[str, Any] = {"provider": provider, "product": {}, "options": {}}
            for name, value in cells.items():
                if not value:
                    continue
                if name in PRODUCT_COLUMNS:
                    item["product"][name] = value
                elif name in {"webhook_url", "external_id"}:
                    item[name] = value
                elif name.startswith("metadata."):
                    item.setdefault("metadata", {})[name.removeprefix("metadata.")] = value
                else:
                    item["options"][name.removeprefix("options.")] = value
            items.append(item)
    if not items:
        raise click.BadParameter(f"{path} has no rows", param_hint="MANIFEST")
    return items


class BatchDisplay:
    """One progress bar per batch on a terminal; one line per change otherwise."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress: Progress | None = None
        self.tasks: dict[str, TaskID] = {}

    @contextmanager
    def running(self) -> Iterator[BatchDisplay]:
        if not self.console.is_terminal:
            yield self
            return
        with Progress(
            TextColumn("[bold]batch {task.fields[batch_id]}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} {task.description}"),
            TimeElapsedColumn(),
            console=self.console,
        ) as progress:
            self.progress = progress
            yield self
        self.progress = None

    def update(self, batch: Batch) -> None:
        counts = ", ".join(f"{status} {count}" for status, count in sorted(batch.counts.items()))
        if self.progress is None:
            self.console.print(
                f"batch {batch.batch_id}: {batch.finished_items}/{batch.total} final ({counts}),"
                f" {batch.status}"
            )
            return
        if batch.batch_id not in self.tasks:
            self.tasks[batch.batch_id] = self.progress.add_task(
                counts, total=batch.total, batch_id=batch.batch_id
            )
        self.progress.update(self.tasks[batch.batch_id], completed=batch.finished_items, description=counts)


def _wait_batches(
    client: Client, batch_ids: Sequence[str], display: BatchDisplay, timeout: float
) -> list[Batch]:
    """Poll every batch (round robin) until all are completed."""
    deadline = time.monotonic() + timeout
    done: dict[str, Batch] = {}
    seen: dict[str, tuple[str, dict[str, int]]] = {}
    interval = 0.5
    while True:
        for batch_id in batch_ids:
            if batch_id in done:
                continue
            batch = client.batches.get(batch_id)
            if seen.get(batch_id) != (batch.status, batch.counts):
                seen[batch_id] = (batch.status, dict(batch.counts))
                display.update(batch)
            if batch.completed:
                done[batch_id] = batch
        if len(done) == len(batch_ids):
            return [done[batch_id] for batch_id in batch_ids]
        if time.monotonic() > deadline:
            raise MediajobsError(f"batches not completed after {timeout:g} s", code="wait_timeout")
        time.sleep(interval)
        interval = min(5.0, interval * 1.5)


@cli.group()
def batch() -> None:
    """Run many jobs from a manifest."""


@batch.command("run")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output-dir", type=click.Path(file_okay=False, path_type=Path), help="download here")
@click.option("--webhook-url", help="where mediajobs POSTs each batch's final state")
@click.option("--metadata", "-m", multiple=True, metavar="KEY=VALUE")
@click.option("--timeout", type=float, default=3600.0, show_default=True)
@json_flag
def batch_run(
    manifest: Path,
    output_dir: Path | None,
    webhook_url: str | None,
    metadata: tuple[str, ...],
    timeout: float,
) -> None:
    """Send MANIFEST (CSV, one job per row) as batches of up to 500 and follow each one."""
    state = _state()
    client = state.client()
    items = read_manifest(manifest)
    chunks = [items[start : start + MAX_BATCH_ITEMS] for start in range(0, len(items), MAX_BATCH_ITEMS)]
    accepted = [
        client.batches.create(chunk, webhook_url=webhook_url, metadata=_metadata(metadata))
        for chunk in chunks
    ]
    display = BatchDisplay(state.err)
    with display.running():
        batches = _wait_batches(client, [a.batch_id for a in accepted], display, timeout)
    files: dict[str, list[Path]] = {}
    if output_dir is not None:
        for item in (item for b in batches for item in b.items if item.status == "succeeded"):
            files[item.job_id] = client.jobs.download(client.jobs.get(item.job_id), output_dir)
    if state.json:
        _print_json({"batches": batches, "files": files})
        return
    table = Table(title=f"{len(batches)} batch(es) from {manifest.name}")
    for column in ("batch", "items", "succeeded", "failed", "cancelled", "files"):
        table.add_column(column)
    for done in batches:
        saved = sum(len(files.get(item.job_id, [])) for item in done.items)
        table.add_row(
            done.batch_id,
            str(done.total),
            *(str(done.counts.get(status, 0)) for status in ("succeeded", "failed", "cancelled")),
            str(saved),
        )
    state.out.print(table)
    if output_dir is not None:
        state.out.print(f"saved {sum(len(f) for f in files.values())} file(s) to {output_dir}")


@batch.command("upload")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--webhook-url", help="where mediajobs POSTs the batch's final state")
@click.option("--metadata", "-m", multiple=True, metavar="KEY=VALUE")
@click.option("--wait/--no-wait", default=True, show_default=True, help="follow the batch to its end")
@click.option("--timeout", type=float, default=3600.0, show_default=True)
@json_flag
def batch_upload(
    manifest: Path, webhook_url: str | None, metadata: tuple[str, ...], wait: bool, timeout: float
) -> None:
    """Upload MANIFEST (.csv or .json, up to 500 items) to S3; mediajobs validates it and runs its batch."""
    state = _state()
    client = state.client()
    started = client.batch_manifests.create_from_file(
        manifest, webhook_url=webhook_url, metadata=_metadata(metadata)
    )
    if not wait or started.batch_id is None:
        if state.json:
            _print_json(started)
        else:
            state.out.print(f"manifest {started.manifest_id} started batch {started.batch_id}")
        return
    display = BatchDisplay(state.err)
    with display.running():
        (done,) = _wait_batches(client, [started.batch_id], display, timeout)
    if state.json:
        _print_json({"manifest": started, "batch": done})
        return
    counts = ", ".join(f"{count} {status}" for status, count in sorted(done.counts.items()))
    state.out.print(f"batch {done.batch_id} from {manifest.name}: {done.outcome}: {counts}")


@batch.command("retry")
@click.argument("batch_id")
@click.option("--wait/--no-wait", default=True, show_default=True, help="follow the rerun to its end")
@click.option("--timeout", type=float, default=3600.0, show_default=True)
@json_flag
def batch_retry(batch_id: str, wait: bool, timeout: float) -> None:
    """Rerun the failed items of the completed batch BATCH_ID (once each)."""
    state = _state()
    client = state.client()
    retried = client.batches.retry(batch_id)
    if not wait:
        if state.json:
            _print_json(retried)
        else:
            state.out.print(f"batch {batch_id} round {retried.round}: {retried.retried} item(s) rerun")
        return
    display = BatchDisplay(state.err)
    with display.running():
        (done,) = _wait_batches(client, [batch_id], display, timeout)
    if state.json:
        _print_json({"retried": retried, "batch": done})
        return
    counts = ", ".join(f"{count} {status}" for status, count in sorted(done.counts.items()))
    state.out.print(
        f"batch {batch_id} round {done.round}: {retried.retried} item(s) rerun; {done.outcome}: {counts}"
    )


# -- catalog --------------------------------------------------------------------------------------


@cli.command()
@json_flag
def providers() -> None:
    """The providers: stages, outputs, what can be regenerated."""
    state = _state()
    found = state.client().providers.list()
    if state.json:
        _print_json(found)
        return
    table = Table(title="providers")
    for column in ("provider", "name", "stages", "outputs", "regenerate", "video from preview"):
        table.add_column(column)
    for provider in found:
        regenerate = ", ".join(provider.regenerate.fields) if provider.regenerate else ""
        table.add_row(
            provider.provider,
            provider.name,
            " → ".join(provider.stages),
            ", ".join(provider.output_kinds),
            regenerate,
            "yes" if provider.continue_to_video else "no",
        )
    state.out.print(table)


@cli.command()
@json_flag
def styles() -> None:
    """ProdVisual's style ids (for run prodvisual --style)."""
    state = _state()
    found = state.client().providers.styles()
    if state.json:
        _print_json(found)
        return
    table = Table(title=f"{found.total} ProdVisual styles")
    for column in ("id", "name", "description"):
        table.add_column(column)
    for style in found.styles:
        table.add_row(style.id, style.name, style.description or "")
    state.out.print(table)


# -- job events and the webhook delivery log --------------------------------------------------------


@jobs.command("events")
@click.argument("job_id")
@click.option("--after", type=click.IntRange(min=0), default=0, help="only events after this sequence")
@click.option("--timeout", type=float, default=900.0, show_default=True)
@json_flag
def jobs_events(job_id: str, after: int, timeout: float) -> None:
    """Follow a job's events (its timeline) as they are written, until its final one."""
    state = _state()
    for event in state.client().jobs.events(job_id, last_event_id=after, timeout=timeout):
        if state.json:
            click.echo(event.model_dump_json())
            continue
        where = f" {event.stage}" if event.stage else ""
        detail = f" ({event.detail})" if event.detail else ""
        state.out.print(
            f"{event.sequence:>3} {event.at.isoformat(timespec='seconds')} {event.status}{where}{detail}"
        )


@cli.group()
def deliveries() -> None:
    """Your webhook deliveries: list them, replay one."""


@deliveries.command("list")
@click.option("--status", type=click.Choice(["pending", "delivered", "failed", "disabled", "no_webhook"]))
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@json_flag
def deliveries_list(status: str | None, limit: int) -> None:
    """Your webhook deliveries, newest first."""
    state = _state()
    found = []
    for delivery in state.client().deliveries.list(status=status, page_size=min(limit, 100)):
        found.append(delivery)
        if len(found) >= limit:
            break
    if state.json:
        _print_json(found)
        return
    table = Table(title=f"{len(found)} deliveries")
    for column in ("id", "event", "subject", "status", "attempts", "last answer", "next attempt"):
        table.add_column(column)
    for d in found:
        subject = f"{d.subject_id}#{d.sequence}" if d.sequence is not None else d.subject_id
        table.add_row(
            d.id,
            d.event_type,
            subject,
            d.status,
            str(d.attempts),
            str(d.last_http_status or d.last_error or ""),
            d.next_attempt_at.isoformat(timespec="seconds") if d.next_attempt_at else "",
        )
    state.out.print(table)


@deliveries.command("replay")
@click.argument("delivery_id")
@json_flag
def deliveries_replay(delivery_id: str) -> None:
    """Send a delivered, failed or disabled delivery again (same webhook-id, fresh signature)."""
    state = _state()
    delivery = state.client().deliveries.replay(delivery_id)
    if state.json:
        _print_json(delivery)
        return
    state.out.print(
        f"{delivery.id} {delivery.event_type} is {delivery.status} again (replay {delivery.replays})"
    )


# -- cost -----------------------------------------------------------------------------------------


def _credits(value: float | None) -> str:
    return "unknown" if value is None else f"{value:g}"


@cli.command()
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_flag
def estimate(manifest: Path) -> None:
    """What the jobs of MANIFEST (CSV, as batch run reads it) would cost; nothing is created."""
    state = _state()
    found = state.client().billing.estimate(read_manifest(manifest))
    if state.json:
        _print_json(found)
        return
    table = Table(title=f"{found.items} item(s): {found.credits:g} credit(s), about ${found.aws_usd:.6f} AWS")
    for column in ("provider", "items", "credits/item", "credits", "balance", "covered"):
        table.add_column(column)
    for row in found.providers:
        table.add_row(
            row.provider,
            str(row.items),
            _credits(row.credits_per_item),
            _credits(row.credits),
            "unknown" if row.balance is None else str(row.balance),
            "unknown" if row.items_covered is None else str(row.items_covered),
        )
    state.out.print(table)
    if not found.complete:
        state.out.print("some providers document no price: their credits are unknown")
    if not found.within_budget:
        state.out.print(
            "[bold]over the tenant's or this key's credit budget[/]: "
            "a create would answer 402 budget_exceeded"
        )


@cli.command()
@click.option("--from", "from_day", metavar="YYYY-MM-DD", help="first UTC day (default: 30 days ago)")
@click.option("--to", "to_day", metavar="YYYY-MM-DD", help="last UTC day (default: today)")
@json_flag
def usage(from_day: str | None, to_day: str | None) -> None:
    """Final jobs and the credits they used, per provider."""
    state = _state()
    found = state.client().billing.usage(from_day, to_day)
    if state.json:
        _print_json(found)
        return
    title = f"usage {found.from_day} to {found.to_day}: {found.jobs} job(s), {found.credits:g} credit(s)"
    table = Table(title=title)
    for column in ("provider", "jobs", "succeeded", "failed", "cancelled", "credits", "AWS USD"):
        table.add_column(column)
    for row in found.providers:
        table.add_row(
            row.provider,
            str(row.jobs),
            str(row.succeeded),
            str(row.failed),
            str(row.cancelled),
            f"{row.credits:g}",
            f"{row.aws_usd:.6f}",
        )
    state.out.print(table)


@cli.command()
@json_flag
def budget() -> None:
    """The tenant's and this API key's credit budgets today and this month (UTC): limit, spent, left."""
    state = _state()
    found = state.client().billing.budget()
    if state.json:
        _print_json(found)
        return
    budgets = [(f"tenant {found.tenant_id}", found.daily, found.monthly)]
    if found.api_key is not None:
        budgets.append((f"API key {found.api_key.key_id}", found.api_key.daily, found.api_key.monthly))
    for whose, *periods in budgets:
        for period in periods:
            if period.limit is None:
                state.out.print(f"{whose} {period.period}: {period.spent:g} credit(s) spent, no limit")
            else:
                state.out.print(
                    f"{whose} {period.period}: {period.spent:g} of {period.limit:g} credit(s) spent, "
                    f"{_credits(period.remaining)} left"
                )


def main() -> None:
    """The ``mediajobs`` console script."""
    cli(prog_name="mediajobs")
