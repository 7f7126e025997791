"""The embedded local stack: template.yaml running on one machine, no AWS account, no Docker.

- AWS services come from moto's server on loopback, provisioned from template.yaml's resources
  (so the local stack cannot drift from what is deployed), with real ASL execution;
- every Lambda function runs in-process through moto's Lambda hook, on every invocation path;
- an HTTP front serves the template's HttpApi routes as API Gateway payload 2.0 events;
- the provider sandboxes stand in for Creatify, JoggAI and ProdVisual, unless
  ``CREATIFY_BASE_URL`` / ``CREATIFY_API_ID`` / ``CREATIFY_API_KEY``, ``JOGG_BASE_URL`` /
  ``JOGG_API_KEY`` / ``JOGG_WEBHOOK_SECRET`` or ``PRODVISUAL_BASE_URL`` / ``PRODVISUAL_API_KEY``
  point a provider elsewhere (real ones included).

Local-only settings (loopback URLs allowed, poll intervals and the deadline in seconds) are
passed as template parameters or extra environment; the deployed template never sets them.

``python -m local.stack serve`` (``make local``) serves it until SIGTERM or SIGINT (Ctrl-C).
Its ports come from the environment (:data:`PORT_VARIABLES`); until the stack is provisioned the
API answers 503 ``starting``, and the ready line is printed once it serves. The console shows one
line per job event; the functions' routine logs and metrics stay out of it, errors do not.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Self, TextIO

from local.cfn import Template
from local.http_front import HttpFront
from local.moto_runtime import MotoRuntime
from local.provision import Provisioned, provision
from local.sample_shop import sample_files
from local.sandboxes import DEFAULT_PORTS, Sandboxes, credentials_text, start_sandboxes
from local.sandboxes.creatify import CreatifySettings
from local.sandboxes.jogg import JoggSettings
from local.sandboxes.prodvisual import ProdVisualSettings

ROOT = Path(__file__).resolve().parent.parent
STACK_NAME = "mediajobs-local"
DEFAULT_API_KEY = "local-dev-key"
DEFAULT_TENANT = "local"
#: the job id and Creatify callback token the sample events in events/ use
SAMPLE_JOB_ID = "0123456789abcdef0123456789abcdef"
SAMPLE_CALLBACK_TOKEN = "sample-callback-token"  # noqa: S105 - a sample, used only on loopback
SAMPLE_PRODUCT = ROOT / "local" / "assets" / "sample-product.png"
SAMPLE_BATCH_ID = "fedcba9876543210fedcba9876543210"
SAMPLE_BATCH_JOB_IDS = ("0123456789abcdef0123456789abcd01", "0123456789abcdef0123456789abcd02")

#: environment only the local stack sets (the deployed template never does)
LOCAL_ONLY_ENVIRONMENT = {
    "ALLOW_LOOPBACK_URLS": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
}


#: for the demo: the functions' logs and metrics stay out of the way of its own output
QUIET_ENVIRONMENT = {"POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true"}

#: ``make local``: no EMF metric lines (nothing reads them on one machine) and no routine INFO
#: logs; warnings and errors of the functions still show
SERVE_ENVIRONMENT = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}

#: Powertools' metric warnings that say nothing about the job (a function with no metric to
#: flush, a dimension set twice): noise on a developer's console
METRIC_NOISE = (
    r"No application metrics to publish",
    r"Dimension '.*' has already been added",
    r"The dimension .* doesn't meet the requirements",
    r"Dimension .* has empty name or value",
    r"Empty dimensions dictionary provided",
)

#: where ``make local`` takes each port from; 0 means any free port
PORT_VARIABLES: Final = {
    "api": "MEDIAJOBS_API_PORT",
    "moto": "MEDIAJOBS_MOTO_PORT",
    "creatify": "CREATIFY_SANDBOX_PORT",
    "jogg": "JOGG_SANDBOX_PORT",
    "prodvisual": "PRODVISUAL_SANDBOX_PORT",
}
DEFAULT_API_PORT: Final = 3000
#: seconds ``make local`` gives itself to stop once told; then it exits whatever is still running
STOP_GRACE_SECONDS: Final = 6.0
SAMPLES_PREFIX: Final = "/samples/"


class PortError(ValueError):
    """A port variable that is not a port number."""


def ports_from_environment(environ: Mapping[str, str]) -> dict[str, int]:
    """Every port of the stack: its variable if set (0: a free port), else the default."""
    defaults = {"api": DEFAULT_API_PORT, "moto": 0, **DEFAULT_PORTS}
    ports: dict[str, int] = {}
    for name, variable in PORT_VARIABLES.items():
        text = environ.get(variable, "").strip()
        if not text:
            ports[name] = defaults[name]
            continue
        try:
            port = int(text)
        except ValueError:
            raise PortError(f"{variable}={text!r} is not a port number") from None
        if not 0 <= port <= 65535:
            raise PortError(f"{variable}={port} is not between 0 and 65535")
        ports[name] = port
    return ports


@dataclass(frozen=True)
class Timing:
    """Poll intervals and deadline in seconds, so local jobs finish in seconds."""

    poll_initial_seconds: int = 2
    poll_max_seconds: int = 8
    job_deadline_seconds: int = 300
    #: seconds before each retry of a failed client webhook delivery
    webhook_retry_delays: str = "1,1,2"
    #: how long a create call that got no answer waits for the provider's callback
    unanswered_call_wait_seconds: int = 10


@dataclass(frozen=True)
class ProviderEndpoint:
    base_url: str
    secret: dict[str, str]


def provider_endpoints(sandboxes: Sandboxes, environ: Mapping[str, str]) -> dict[str, ProviderEndpoint]:
    """Each provider's base URL and secret: the sandbox's, unless the environment names another."""
    c, j, p = sandboxes.creatify.settings, sandboxes.jogg.settings, sandboxes.prodvisual.settings
    return {
        "Creatify": ProviderEndpoint(
            environ.get("CREATIFY_BASE_URL", sandboxes.creatify.base_url),
            {
                "api_id": environ.get("CREATIFY_API_ID", c.api_id),
                "api_key": environ.get("CREATIFY_API_KEY", c.api_key),
            },
        ),
        "Jogg": ProviderEndpoint(
            environ.get("JOGG_BASE_URL", sandboxes.jogg.base_url),
            {
                "api_key": environ.get("JOGG_API_KEY", j.api_key),
                "webhook_secret": environ.get("JOGG_WEBHOOK_SECRET", j.webhook_secret),
            },
        ),
        "ProdVisual": ProviderEndpoint(
            environ.get("PRODVISUAL_BASE_URL", sandboxes.prodvisual.base_url),
            {"api_key": environ.get("PRODVISUAL_API_KEY", p.api_key)},
        ),
    }


def add_layers_to_path(template: Template) -> None:
    """Make the template's layer packages importable here, as Lambda does under /opt/python."""
    for layer in template.resources_of_type("AWS::Serverless::LayerVersion"):
        content = str((template.base_dir / str(template.properties(layer)["ContentUri"])).resolve())
        if content not in sys.path:
            sys.path.insert(0, content)


def reset_service_caches() -> None:
    """Forget settings and clients cached by an earlier stack in this process (tests start several)."""
    from mediajobs import (  # noqa: PLC0415 - after the environment is set
        aws,
        config,
        ratelimit,
    )
    from mediajobs.api import context as api_context  # noqa: PLC0415
    from mediajobs.tasks import jobs as tasks  # noqa: PLC0415

    # every per-container cache (functools.cache) of these modules: settings, clients, services
    for module in (config, aws, api_context, tasks, ratelimit):
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", "") == (
                module.__name__
            ):
                value.cache_clear()
    from mediajobs.tasks import notifications  # noqa: PLC0415

    notifications.clear_caches()
    # Powertools keeps one Secrets Manager client (and the values it read) per process
    from aws_lambda_powertools.utilities import parameters  # noqa: PLC0415

    parameters.clear_caches()  # type: ignore[no-untyped-call]


class LocalStack:
    def __init__(
        self,
        *,
        api_host: str = "127.0.0.1",
        api_port: int = 3000,
        sandbox_ports: Mapping[str, int] | None = None,
        timing: Timing | None = None,
        creatify: CreatifySettings | None = None,
        jogg: JoggSettings | None = None,
        prodvisual: ProdVisualSettings | None = None,
        environ: Mapping[str, str] | None = None,
        quiet: bool = False,
        parameters: Mapping[str, str] | None = None,
        moto_port: int | None = None,
        serve_environment: bool = False,
    ) -> None:
        self.quiet = quiet
        #: the functions log like ``make local`` wants (:data:`SERVE_ENVIRONMENT`)
        self.serve_environment = serve_environment
        self.moto_port = moto_port or None
        #: template parameters over the local defaults (e.g. ``{"ProviderTimeoutSeconds": "2"}``)
        self.parameter_overrides = dict(parameters or {})
        self.api_host = api_host
        self.api_port = api_port
        self.sandbox_ports = dict(sandbox_ports or {})
        self.timing = timing or Timing()
        self.sandbox_settings = (creatify, jogg, prodvisual)
        self.environ = os.environ if environ is None else environ
        self.api_key = DEFAULT_API_KEY
        #: the default tenant's client webhook signing secret (a new one every start)
        self.webhook_secret = ""
        self.template = Template.load(ROOT / "template.yaml")
        self.runtime: MotoRuntime | None = None
        self.sandboxes: Sandboxes | None = None
        self.front: HttpFront | None = None
        self.provisioned: Provisioned | None = None
        self._saved_environment: dict[str, str | None] = {}
        #: a signal's stop and a failed start's stop may overlap: one of them does the work
        self._stop_lock = threading.RLock()

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Self:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        creatify, jogg, prodvisual = self.sandbox_settings
        self.sandboxes = start_sandboxes(
            self.sandbox_ports, creatify=creatify, jogg=jogg, prodvisual=prodvisual
        )
        self.runtime = MotoRuntime(port=self.moto_port).start()
        # the front binds first (the template needs its URL) and answers 503 until provisioned
        self.front = HttpFront(
            self.template.routes,
            self._invoke_route,
            host=self.api_host,
            port=self.api_port,
            static={SAMPLES_PREFIX + name: file for name, file in sample_files().items()},
            ready=False,
        )
        try:
            self.provisioned = provision(
                self.template,
                self.runtime,
                stack_name=STACK_NAME,
                parameters=self._parameters(),
                project_root=ROOT,
            )
            environment = self.runtime.env() | self.provisioned.environment() | LOCAL_ONLY_ENVIRONMENT
            if self.serve_environment:
                environment |= SERVE_ENVIRONMENT
            if self.quiet:
                environment |= QUIET_ENVIRONMENT
            self._saved_environment = {key: os.environ.get(key) for key in environment}
            os.environ.update(environment)
            # Powertools' HTTP resolvers keep the current request on class attributes: in one
            # process, the HTTP functions must not serve two requests at once
            http_functions = sorted({route.function for route in self.template.routes})
            self.runtime.share_container(
                "http", [self.provisioned.function_name(logical_id) for logical_id in http_functions]
            )
            add_layers_to_path(self.template)
            reset_service_caches()
            self.add_api_key(self.api_key, DEFAULT_TENANT)
            from mediajobs.notifications.signing import generate_secret  # noqa: PLC0415 - needs the stack's path

            self.webhook_secret = generate_secret()
            self.set_tenant_webhooks(DEFAULT_TENANT, secrets=[self.webhook_secret])
            self.front.mark_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, *, restore_environment: bool = True) -> None:
        """Stop the front first (no new request), then moto and the sandboxes.

        ``restore_environment=False`` leaves the stack's environment in place for the requests
        still running (a process that exits right after, like ``make local``, has no use for it).
        """
        with self._stop_lock:
            front, self.front = self.front, None
            runtime, self.runtime = self.runtime, None
            sandboxes, self.sandboxes = self.sandboxes, None
            if front is not None:
                front.stop()
            if runtime is not None:
                runtime.stop()
            if sandboxes is not None:
                sandboxes.stop()
            if restore_environment:
                for key, value in self._saved_environment.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
                self._saved_environment = {}

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- what tests and tools use ---------------------------------------------------------------

    @property
    def api_url(self) -> str:
        assert self.front is not None, "the stack is not started"  # noqa: S101 - programming error
        return self.front.base_url

    def sample_url(self, name: str = "product.png") -> str:
        """A sample file the stack's own front serves (``product.png``, ``.jpg``, ``.webp``)."""
        return f"{self.api_url}{SAMPLES_PREFIX}{name}"

    @property
    def state_machine_arn(self) -> str:
        return str(self._provisioned.ref("JobStateMachine"))

    @property
    def table_name(self) -> str:
        return str(self._provisioned.ref("JobsTable"))

    @property
    def bucket_name(self) -> str:
        return str(self._provisioned.ref("MediaBucket"))

    def client(self, service: str) -> Any:
        assert self.runtime is not None, "the stack is not started"  # noqa: S101
        return self.runtime.client(service)

    def add_api_key(self, key: str, tenant_id: str) -> None:
        from mediajobs.api.auth import hash_api_key  # noqa: PLC0415 - needs the stack's environment
        from mediajobs.aws import dynamodb_table  # noqa: PLC0415
        from mediajobs.jobs.store import JobStore  # noqa: PLC0415

        JobStore(dynamodb_table(self.table_name)).put_api_key(
            hash_api_key(key), tenant_id=tenant_id, name="local"
        )

    def set_tenant_webhooks(
        self, tenant_id: str, url: str | None = None, secrets: list[str] | None = None
    ) -> None:
        """A tenant's client webhook settings: default URL (``None``: none) and 1 or 2 secrets."""
        from datetime import UTC, datetime  # noqa: PLC0415

        from mediajobs.aws import dynamodb_table  # noqa: PLC0415 - needs the stack's environment
        from mediajobs.notifications.signing import generate_secret  # noqa: PLC0415
        from mediajobs.notifications.store import NotificationStore  # noqa: PLC0415

        NotificationStore(dynamodb_table(self.table_name)).configure_tenant(
            tenant_id, secrets=secrets or [generate_secret()], default_url=url, now=datetime.now(UTC)
        )

    def seed_sample_job(self) -> str:
        """The job the sample task events in ``events/`` name: a ProdVisual job, product taken in.

        ``make invoke`` seeds it so ``events/submit_job.json`` and friends act on a real record.
        """
        self._seed_job(SAMPLE_JOB_ID, "prodvisual", {"style": "lifestyle", "format": "png"})
        return SAMPLE_JOB_ID

    def seed_sample_batch(self) -> str:
        """The batch the sample batch events name: one ProdVisual item and one Creatify item."""
        from datetime import UTC, datetime  # noqa: PLC0415

        from mediajobs.aws import dynamodb_table  # noqa: PLC0415 - needs the stack's environment
        from mediajobs.batches.models import Batch  # noqa: PLC0415
        from mediajobs.batches.store import BatchStore  # noqa: PLC0415

        self._seed_job(SAMPLE_BATCH_JOB_IDS[0], "prodvisual", {"style": "mockup"}, batch_id=SAMPLE_BATCH_ID)
        self._seed_job(SAMPLE_BATCH_JOB_IDS[1], "creatify", {"stop_after": "image"}, batch_id=SAMPLE_BATCH_ID)
        BatchStore(dynamodb_table(self.table_name)).create(
            Batch(
                batch_id=SAMPLE_BATCH_ID,
                tenant_id=DEFAULT_TENANT,
                job_ids=list(SAMPLE_BATCH_JOB_IDS),
                created_at=datetime.now(UTC),
            )
        )
        return SAMPLE_BATCH_ID

    def _seed_job(
        self, job_id: str, provider: str, options: dict[str, Any], batch_id: str | None = None
    ) -> None:
        import hashlib  # noqa: PLC0415
        from datetime import UTC, datetime, timedelta  # noqa: PLC0415

        from mediajobs.aws import dynamodb_table, s3_client  # noqa: PLC0415 - needs the stack's environment
        from mediajobs.jobs.models import Job, JobSpec, ProductImage  # noqa: PLC0415
        from mediajobs.jobs.store import JobStore  # noqa: PLC0415
        from mediajobs.providers.base import ProductInput, ProviderName  # noqa: PLC0415

        data = SAMPLE_PRODUCT.read_bytes()
        key = f"inputs/{job_id}/product.png"
        s3_client().put_object(Bucket=self.bucket_name, Key=key, Body=data, ContentType="image/png")
        now = datetime.now(UTC)
        job = Job(
            job_id=job_id,
            tenant_id=DEFAULT_TENANT,
            deadline_at=now + timedelta(seconds=self.timing.job_deadline_seconds),
            spec=JobSpec(
                provider=ProviderName(provider),
                product=ProductInput(image_url="https://shop.example.com/images/aurora-bottle.png"),
                options=options,
            ),
            public_base_url=self.api_url,
            product_image=ProductImage(
                s3_key=key,
                content_type="image/png",
                bytes=len(data),
                width=1000,
                height=1000,
                sha256=hashlib.sha256(data).hexdigest(),
            ),
            callback_token=SAMPLE_CALLBACK_TOKEN,
            batch_id=batch_id,
        )
        JobStore(dynamodb_table(self.table_name)).create(job)

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Run one function with one event through the Lambda API (``sam local invoke``)."""
        assert self.runtime is not None, "the stack is not started"  # noqa: S101
        return self.runtime.invoke(self._provisioned.function_name(logical_id), event)

    # -- internals ------------------------------------------------------------------------------

    @property
    def _provisioned(self) -> Provisioned:
        assert self.provisioned is not None, "the stack is not started"  # noqa: S101
        return self.provisioned

    def _invoke_route(self, logical_id: str, event: dict[str, Any]) -> Any:
        return self.invoke(logical_id, event)

    def _parameters(self) -> dict[str, str]:
        assert self.runtime is not None  # noqa: S101
        assert self.sandboxes is not None  # noqa: S101
        assert self.front is not None  # noqa: S101
        secrets = self.runtime.client("secretsmanager")
        parameters = {
            "Stage": "local",
            "PublicBaseUrl": self.front.base_url,
            "PollInitialSeconds": str(self.timing.poll_initial_seconds),
            "PollMaxSeconds": str(self.timing.poll_max_seconds),
            "JobDeadlineSeconds": str(self.timing.job_deadline_seconds),
            "WebhookRetryDelays": self.timing.webhook_retry_delays,
            "UnansweredCallWaitSeconds": str(self.timing.unanswered_call_wait_seconds),
            "LogRetentionDays": "1",
            **self.parameter_overrides,
        }
        for name, endpoint in provider_endpoints(self.sandboxes, self.environ).items():
            arn = secrets.create_secret(
                Name=f"{STACK_NAME}/{name.lower()}", SecretString=json.dumps(endpoint.secret)
            )
            parameters[f"{name}SecretArn"] = arn["ARN"]
            parameters[f"{name}BaseUrl"] = endpoint.base_url
        return parameters

    def describe(self) -> str:
        assert self.sandboxes is not None  # noqa: S101
        return "\n".join(
            [
                f"mediajobs local stack: API {self.api_url}  (Authorization: Bearer {self.api_key})",
                f"AWS services (moto): {self.runtime.endpoint_url if self.runtime else '-'}",
                f"State machine: {self.state_machine_arn}",
                f"Client webhook secret (tenant {DEFAULT_TENANT}): {self.webhook_secret}",
                f"Jobs table: {self.table_name}",
                f"Sample product image: {self.sample_url()}",
                "Provider sandboxes:",
                credentials_text(self.sandboxes),
            ]
        )


class JobConsole:
    """One readable line per job event on the console: accepted, each status change, the end.

    It reads the job records the functions write (what ``GET /v1/jobs/{id}`` answers), so it sees
    every job, whichever way it was created (API, upload, batch, regenerate).
    """

    def __init__(self, stack: LocalStack, out: TextIO | io.TextIOBase, *, interval: float = 0.5) -> None:
        self.stack = stack
        self.out = out
        self.interval = interval
        self._seen: dict[str, tuple[str, str | None]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="job-console", daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except (BotoCoreError, ClientError) as exc:
                if self._stop.is_set():
                    return
                print(f"job console: could not read the jobs table: {exc}", file=sys.stderr, flush=True)

    def poll(self) -> list[str]:
        """Print (and return) a line for each job whose status or stage changed since the last poll."""
        lines = [line for item in self._job_items() for line in self._lines(item)]
        for line in lines:
            print(line, file=self.out, flush=True)
        return lines

    def _job_items(self) -> list[dict[str, Any]]:
        table = self.stack.runtime.resource("dynamodb").Table(self.stack.table_name)  # type: ignore[union-attr]
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "FilterExpression": "sk = :job",
            "ExpressionAttributeValues": {":job": "JOB"},
        }
        while True:
            answer = table.scan(**kwargs)
            items += answer.get("Items", [])
            if "LastEvaluatedKey" not in answer:
                return sorted(items, key=lambda i: str(i.get("updated_at", "")))
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def _lines(self, item: Mapping[str, Any]) -> list[str]:
        job_id = str(item.get("job_id", ""))
        status = str(item.get("status", "?"))
        task = item.get("task") or {}
        stage = str(task["stage"]) if isinstance(task, dict) and task.get("stage") else None
        before = self._seen.get(job_id)
        if before == (status, stage):
            return []
        self._seen[job_id] = (status, stage)
        spec = item.get("spec") or {}
        provider = str(spec.get("provider", "?")) if isinstance(spec, dict) else "?"
        head = f"job {job_id} {provider:<10}"
        # a job first seen past queued (it started within one poll) was still accepted first
        lines = [f"{head} accepted"] if before is None else []
        if status != "queued":
            lines.append(self._status_line(head, status, stage, item))
        return lines

    @staticmethod
    def _status_line(head: str, status: str, stage: str | None, item: Mapping[str, Any]) -> str:
        if status == "succeeded":
            outputs = item.get("outputs") or []
            kinds = ", ".join(sorted({str(o.get("kind", "?")) for o in outputs if isinstance(o, dict)}))
            return f"{head} succeeded: {len(outputs)} output(s) ({kinds or 'none'})"
        if status == "failed":
            error = item.get("error") or {}
            return f"{head} failed: {error.get('code', '?')}: {error.get('message', '')}"
        return f"{head} {status}" + (f" ({stage})" if stage else "")


class WithoutMetricLines(io.TextIOBase):
    """A text stream that passes every line on except CloudWatch EMF metric documents.

    Powertools prints its cold-start metric even with ``POWERTOOLS_METRICS_DISABLED``; no reader
    of EMF exists on one machine, so ``make local`` drops those lines from its console.
    """

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._pending = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            *lines, self._pending = self._pending.split("\n")
            for line in lines:
                if not line.startswith('{"_aws":'):
                    self._out.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        with self._lock:
            self._out.flush()


def _quiet_metric_warnings() -> None:
    for message in METRIC_NOISE:
        warnings.filterwarnings("ignore", message=message)


#: set once a signal asked the process to stop (a start it cuts short is not an error)
stopping = threading.Event()


def _stop_on_signal(stack: LocalStack, console: list[JobConsole]) -> None:
    """Wait (in a thread of its own) for SIGTERM or SIGINT, stop the stack, and exit.

    The signals are blocked in every thread and taken here with ``sigwait``: no Python handler
    runs in the middle of other code (setting an Event from a handler can deadlock on its lock).
    Stopping has :data:`STOP_GRACE_SECONDS`; the process then exits whatever is still running
    (an in-process Lambda cannot be interrupted), which frees every port.
    """
    received = signal.sigwait({signal.SIGTERM, signal.SIGINT})
    stopping.set()
    print(f"{signal.Signals(received).name}: stopping the local stack", file=sys.stderr, flush=True)

    def stop_everything() -> None:
        for running in console:
            running.stop()
        stack.stop(restore_environment=False)

    stopper = threading.Thread(target=stop_everything, name="stopping", daemon=True)
    stopper.start()
    stopper.join(timeout=STOP_GRACE_SECONDS)
    if stopper.is_alive():
        print("the local stack did not stop in time: exiting anyway", file=sys.stderr, flush=True)
    print("stopped", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    # before any thread starts, so that every thread inherits the mask and only sigwait sees them
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    parser = argparse.ArgumentParser(description="Serve the mediajobs local stack until stopped.")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument(
        "--port", type=int, help=f"the API's port (default: ${PORT_VARIABLES['api']} or 3000)"
    )
    args = parser.parse_args(argv)
    try:
        ports = ports_from_environment(os.environ)
    except PortError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.port is not None:
        ports["api"] = args.port
    _quiet_metric_warnings()
    sys.stdout = WithoutMetricLines(sys.stdout)
    stack = LocalStack(
        api_port=ports["api"],
        moto_port=ports["moto"],
        sandbox_ports={name: ports[name] for name in DEFAULT_PORTS},
        serve_environment=True,
    )
    console: list[JobConsole] = []
    threading.Thread(
        target=_stop_on_signal, args=(stack, console), name="stop-on-signal", daemon=True
    ).start()
    print(
        "mediajobs local stack: starting (the API answers 503 starting until it is ready)",
        file=sys.stderr,
        flush=True,
    )
    try:
        stack.start()
    except Exception as exc:
        if stopping.is_set():
            # a signal stopped the stack while it started: its thread ends the process (exit 0)
            threading.Event().wait()
        if isinstance(exc, OSError):
            print(f"error: the local stack could not start: {exc}", file=sys.stderr, flush=True)
            return 1
        raise
    print(stack.describe(), flush=True)
    console.append(JobConsole(stack, sys.stdout).start())
    print(f"mediajobs local stack ready: {stack.api_url} (Ctrl-C to stop)", flush=True)
    threading.Event().wait()  # the stop-on-signal thread ends the process
    return 0


if __name__ == "__main__":
    sys.exit(main())
