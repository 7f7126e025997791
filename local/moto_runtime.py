"""moto's server on loopback, with Lambda functions run in-process by registered Python handlers.

:class:`MotoRuntime` starts moto's ``ThreadedMotoServer`` on ``127.0.0.1`` and a free port, turns
on real Step Functions execution and installs the in-process Lambda hook, so that every way moto
invokes a function (boto3 ``Invoke`` RequestResponse and Event, Step Functions ``lambda:invoke``
including ``.waitForTaskToken``, S3 bucket notifications, SQS and DynamoDB-stream event source
mappings) calls the handler registered for that function name, in the calling thread, with a
realistic :class:`LambdaContext`.

The hook replaces ``moto.awslambda.models.LambdaFunction._invoke_lambda(self, event)``, a private
moto API that must return ``(payload, is_error, logs)``; :func:`install_lambda_hook` is the one
place that touches it. moto keeps its state (backends, config) per process, and its Step
Functions interpreter reaches Lambda at ``localhost:$MOTO_PORT``: so there is at most one running
:class:`MotoRuntime` per process.

Behaviour worth knowing (moto 5.2):

* moto runs Event invocations and S3 / SQS deliveries synchronously: the triggering request
  (``PutObject``, ``Invoke`` with ``InvocationType="Event"``) returns when the handler has
  returned. Errors of S3-triggered handlers are swallowed by moto (async in AWS as well).
* Step Functions names a task failure after the ``errorType`` of the error payload, so a handler
  raising ``class RetryableProviderError(Exception)`` is matched by
  ``"ErrorEquals": ["RetryableProviderError"]`` in Retry and Catch, as on AWS.
* A handler cannot be stopped mid-way in-process: a handler that outlives the function's
  ``Timeout`` runs to its end, then the invocation fails with ``Sandbox.Timedout`` like on AWS
  (``enforce_timeouts=False`` turns that off).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import decimal
import functools
import json
import logging
import os
import socket
import sys
import threading
import time
import traceback
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any, Final, Self

import boto3
from botocore.config import Config

__all__ = [
    "ACCOUNT_ID",
    "DUMMY_ACCESS_KEY_ID",
    "DUMMY_SECRET_ACCESS_KEY",
    "HOOK_TARGET",
    "REGION",
    "FunctionError",
    "Handler",
    "LambdaContext",
    "MotoHookMissingError",
    "MotoRuntime",
    "install_lambda_hook",
    "lambda_error_payload",
    "moto_invoke_lambda",
]

LOG = logging.getLogger(__name__)

ACCOUNT_ID: Final = "123456789012"
REGION: Final = "us-east-1"
DUMMY_ACCESS_KEY_ID: Final = "testing"
DUMMY_SECRET_ACCESS_KEY: Final = "testing"  # noqa: S105 - moto accepts any credentials
HOOK_TARGET: Final = "moto.awslambda.models.LambdaFunction._invoke_lambda"


def moto_invoke_lambda() -> Any:
    """moto's own ``LambdaFunction._invoke_lambda`` (even while the hook replaces it), or None."""
    from moto.awslambda import models  # noqa: PLC0415

    method = models.LambdaFunction.__dict__.get("_invoke_lambda")
    return getattr(method, "__wrapped_moto__", method)


class LambdaContext:
    """What the AWS Python runtime (awslambdaric) passes as ``context``.

    As on AWS, ``memory_limit_in_mb`` is a string and ``get_remaining_time_in_millis`` counts down
    from the function's ``Timeout``.
    """

    def __init__(
        self,
        *,
        function_name: str,
        invoked_function_arn: str,
        memory_limit_in_mb: int | str,
        timeout_seconds: float,
        function_version: str = "$LATEST",
        aws_request_id: str | None = None,
    ) -> None:
        self.aws_request_id = aws_request_id or str(uuid.uuid4())
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = str(memory_limit_in_mb)
        self.log_group_name = f"/aws/lambda/{function_name}"
        today = dt.datetime.now(dt.UTC)
        self.log_stream_name = f"{today:%Y/%m/%d}/[{function_version}]{uuid.uuid4().hex}"
        self.identity: Any = None
        self.client_context: Any = None
        self.tenant_id: str | None = None
        self.timeout_seconds = timeout_seconds
        self._deadline_ms = int(time.time() * 1000 + timeout_seconds * 1000)

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, msg: str) -> None:
        print(msg, end="")

    def __repr__(self) -> str:
        return (
            f"LambdaContext(function_name={self.function_name!r}, aws_request_id={self.aws_request_id!r}, "
            f"invoked_function_arn={self.invoked_function_arn!r})"
        )


Handler = Callable[[Any, LambdaContext], Any]
"""A Lambda handler: ``handler(event, context) -> result`` (the result must be JSON serialisable)."""


class FunctionError(Exception):
    """An invocation through :meth:`MotoRuntime.invoke` failed: the function raised (or timed out)."""

    def __init__(self, function_name: str, payload: Any) -> None:
        self.function_name = function_name
        self.payload = payload
        body = payload if isinstance(payload, dict) else {}
        self.error_type = str(body.get("errorType", "Unknown"))
        self.error_message = str(body.get("errorMessage", payload))
        super().__init__(f"{function_name} failed: {self.error_type}: {self.error_message}")


class MotoHookMissingError(RuntimeError):
    """The installed moto no longer has the private method the in-process Lambda hook replaces."""


def lambda_error_payload(exc: BaseException, request_id: str) -> dict[str, Any]:
    """The error document the Python runtime returns for an uncaught exception.

    ``errorType`` is the exception's class name (what Step Functions Retry/Catch match), or its
    ``lambda_error_type`` attribute when it has one (``Runtime.ImportModuleError``...).
    """
    error_type = getattr(exc, "lambda_error_type", None) or type(exc).__name__
    return {
        "errorMessage": str(exc),
        "errorType": str(error_type),
        "requestId": request_id,
        "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__)),
    }


def _json_default(value: Any) -> Any:
    # awslambdaric serialises Decimal (what DynamoDB hands out) as a number
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# --- the hook ------------------------------------------------------------------------------------

HookDispatch = Callable[[Any, Any], tuple[str, bool, str]]


_DYNAMODB_LOCK = threading.RLock()


def serialize_dynamodb() -> None:
    """Make each DynamoDB request atomic in moto, as it is in DynamoDB (idempotent).

    moto serves requests on many threads and its DynamoDB backend takes no lock: two conditional
    updates of one item can both read the old value and both succeed. The jobs' versioned writes,
    the task token claim and the shared rate limiter all count on a condition being checked and
    the write done as one step, so every DynamoDB action runs under one lock here.
    """
    from moto.dynamodb.responses import DynamoHandler  # noqa: PLC0415 - moto is only needed when running

    current = DynamoHandler.__dict__["call_action"]
    if getattr(current, "__serialized__", False):
        return

    @functools.wraps(current)
    def call_action(self: Any) -> Any:
        with _DYNAMODB_LOCK:
            return current(self)

    call_action.__serialized__ = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def list_moto_modules_once() -> None:
    """Finding the backend for each request's ``Host``, moto's server lists its package folder
    (``moto.backends.list_of_moto_modules``: ``os.listdir`` and an ``isdir`` per entry, about 150
    of them) on every request: about 5% of the local stack's CPU under the e2e tests (py-spy).
    The folder does not change while the process runs, so it is listed once.

    (The other per-request cost seen there, a new TCP connection for every boto3 call, stays:
    werkzeug's server closes each connection on purpose, as ``http.server`` cannot drain a body
    before the next request line.)
    """
    from moto import backends  # noqa: PLC0415 - moto is only needed when running

    if getattr(backends.list_of_moto_modules, "__listed_once__", False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules() -> tuple[str, ...]:
        return modules

    list_of_moto_modules.__listed_once__ = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = list_of_moto_modules


_TRANSACTION = threading.local()


class _TableCopies:
    """``moto.dynamodb.models``' view of :mod:`copy`: inside a transaction a table is not copied."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        from moto.dynamodb.models.table import Table  # noqa: PLC0415 - moto is only needed when running

        if getattr(_TRANSACTION, "active", False) and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


def transact_writes_copy_items() -> None:
    """Make moto's ``TransactWriteItems`` set aside the items it writes, not whole tables.

    To undo a cancelled transaction, moto deep-copies every table the transaction names, before
    every transaction: a cost that grows with the table (the local stack keeps one table) and is
    paid under the DynamoDB lock (:func:`serialize_dynamodb`), so every other request waits. It was
    the largest single cost of the local stack under load (py-spy: about 11% of the CPU at 30
    jobs, growing with the jobs held). Here the items the transaction names are copied instead,
    and put back as they were when it is cancelled. A table with a stream keeps moto's way (a
    cancelled write must not leave stream records behind).
    """
    from moto.dynamodb import models  # noqa: PLC0415 - moto is only needed when running
    from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: PLC0415

    backend = models.DynamoDBBackend
    current = backend.__dict__["transact_write_items"]
    if getattr(current, "__copies_items__", False):
        return

    def targets(self: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any]] | None:
        """(table, hash key, range key) of each write, or None when moto's own way must be kept."""
        found = []
        for entry in transact_items:
            for op in entry.values():
                table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
                if table is None:
                    continue
                if table.stream_shard is not None:
                    return None
                attrs = op.get("Key", op.get("Item")) or {}
                if table.hash_key_attr not in attrs:
                    continue  # moto refuses the write before it changes anything
                range_attr = table.range_key_attr
                if range_attr is not None and range_attr not in attrs:
                    continue
                hash_key = DynamoType(attrs[table.hash_key_attr])
                range_key = DynamoType(attrs[range_attr]) if range_attr is not None else None
                found.append((table, hash_key, range_key))
        return found

    def put_back(table: Any, hash_key: Any, range_key: Any, item: Any) -> None:
        if range_key is None:
            if item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
        elif item is None:
            table.items[hash_key].pop(range_key, None)
        else:
            table.items[hash_key][range_key] = item

    @functools.wraps(current)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        written = targets(self, transact_items) if len(transact_items) <= 100 else None
        if written is None:
            current(self, transact_items)
            return
        before = [(*target, copy.deepcopy(target[0].get_item(target[1], target[2]))) for target in written]
        _TRANSACTION.active = True
        try:
            current(self, transact_items)
        except BaseException:
            for table, hash_key, range_key, item in reversed(before):
                put_back(table, hash_key, range_key, item)
            raise
        finally:
            _TRANSACTION.active = False

    transact_write_items.__copies_items__ = True  # type: ignore[attr-defined]
    setattr(models, "copy", _TableCopies())  # noqa: B010 - the name moto.dynamodb.models looks up
    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def step_functions_parse_once() -> None:
    """Make moto's Step Functions interpreter parse each definition and JSONPath once, and keep
    one boto3 client per service for its Lambda tasks.

    moto (5.2) runs ANTLR over the whole definition at every execution start, builds a new
    jsonpath-ng parser (ply's grammar tables) for every path it reads (``InputPath``,
    ``ResultPath``, each ``.$`` field), and creates a boto3 client for every Lambda task: together
    about 20% of the local stack's CPU at 30 jobs (py-spy). A parsed program holds no execution's
    state (each execution has its own ``Environment``; a Map state runs one parsed iteration
    program for every item already), a parsed JSONPath is immutable, and boto3 clients are
    thread-safe, so each is made once per distinct text, per service.
    """
    from jsonpath_ng.ext.parser import parse as extended_parse  # noqa: PLC0415
    from jsonpath_ng.parser import parse as jsonpath_parse  # noqa: PLC0415 - moto is only needed when running
    from moto.stepfunctions.parser.asl.component.common.path import result_path  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import (  # noqa: PLC0415
        lambda_eval_utils,
    )
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.utils import boto_client, json_path  # noqa: PLC0415

    if getattr(vars(json_path)["parse"], "__parsed_once__", False):
        return

    def once(function: Callable[..., Any]) -> Callable[..., Any]:
        cached = functools.lru_cache(maxsize=1024)(function)
        cached.__parsed_once__ = True  # type: ignore[attr-defined]
        return cached

    # the names these modules call (each imported ``parse`` from jsonpath-ng)
    setattr(json_path, "parse", once(extended_parse))  # noqa: B010
    setattr(result_path, "parse", once(jsonpath_parse))  # noqa: B010
    parse_definition = AmazonStateLanguageParser.__dict__["parse"].__func__
    AmazonStateLanguageParser.parse = staticmethod(once(parse_definition))  # type: ignore[method-assign]

    make_client = boto_client.boto_client_for
    clients: dict[tuple[str, str, str], Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        # moto's own version ignores state_credentials too; its endpoint follows MOTO_PORT
        key = (region, service, os.environ.get("MOTO_PORT", ""))
        with lock:
            if key not in clients:
                clients[key] = make_client(region=region, service=service)
            return clients[key]

    boto_client.boto_client_for = boto_client_for
    for module in list(sys.modules.values()):
        if getattr(module, "boto_client_for", None) is make_client and module.__name__.startswith(
            "moto.stepfunctions."
        ):
            setattr(module, "boto_client_for", boto_client_for)  # noqa: B010
    if vars(lambda_eval_utils)["boto_client_for"] is not boto_client_for:
        raise MotoHookMissingError("moto's Lambda tasks no longer make clients with boto_client_for")


def install_lambda_hook(dispatch: HookDispatch) -> Callable[[], None]:
    """Route every moto Lambda invocation to ``dispatch(moto_function, event)``; returns the undo.

    This is the only code that touches moto's private API: it replaces
    ``LambdaFunction._invoke_lambda(self, event) -> (payload_str, is_error, logs)``.
    """
    try:
        from moto.awslambda import models  # noqa: PLC0415 - moto is only needed when running

        original = models.LambdaFunction.__dict__["_invoke_lambda"]
    except (ImportError, AttributeError, KeyError) as exc:
        raise MotoHookMissingError(
            f"{HOOK_TARGET} is gone from the installed moto: the in-process Lambda hook cannot be "
            "installed. Pin moto to a version that has it (see requirements) or port the hook."
        ) from exc
    if not callable(original):
        raise MotoHookMissingError(f"{HOOK_TARGET} is no longer a method")

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        return dispatch(self, event)

    _invoke_lambda.__wrapped_moto__ = original  # type: ignore[attr-defined]  # what it replaces

    models.LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]

    def uninstall() -> None:
        models.LambdaFunction._invoke_lambda = original  # type: ignore[method-assign]

    return uninstall


@dataclass(frozen=True)
class _Registration:
    handler: Handler
    timeout: float | None


def _decode_event(event: Any) -> Any:
    # moto's invoke passes the JSON-decoded body, or the string "{}" for an empty body
    if event is None or (isinstance(event, str) and event == "{}"):
        return {}
    if isinstance(event, bytes | bytearray):
        return json.loads(event) if event else {}
    return event


def _is_s3_notification(event: Any) -> bool:
    decoded = _decode_event(event)
    if not isinstance(decoded, dict):
        return False
    records = decoded.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(r, dict) and r.get("eventSource") == "aws:s3" for r in records)
    )


def _called_by_s3() -> bool:
    """Whether moto's S3 (a bucket notification) is invoking, rather than an explicit Invoke."""
    frame: FrameType | None = sys._getframe(1)
    for _ in range(60):
        if frame is None:
            return False
        if "/moto/s3/" in frame.f_code.co_filename.replace("\\", "/"):
            return True
        frame = frame.f_back
    return False


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


_active_lock = threading.Lock()
_active: MotoRuntime | None = None


class MotoRuntime:
    """moto's server on loopback plus the in-process Lambda hook.

    Usage::

        with MotoRuntime() as runtime:           # or runtime = MotoRuntime().start() ... stop()
            os.environ.update(runtime.env())     # handlers' SDK clients reach this moto
            runtime.register("my-fn", handler)   # handler(event, context)
            # ... lambda.create_function(FunctionName="my-fn", ...) (see local.provision) ...
            runtime.invoke("my-fn", {"a": 1})    # or any other invocation path

    moto needs an existing IAM role for ``create_function`` and resolves ``Layers`` ARNs
    against its own layer store (unknown ones fail): create functions without Layers; Runtime
    and Handler are only recorded. ``stop()`` wipes moto's state (``/moto-api/reset``).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        region: str = REGION,
        enforce_timeouts: bool = True,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.region = region
        self.enforce_timeouts = enforce_timeouts
        self.port = 0
        self._server: Any = None
        self._uninstall_hook: Callable[[], None] | None = None
        self._previous_moto_port: str | None = None
        self._handlers: dict[str, _Registration] = {}
        self._handlers_lock = threading.Lock()
        # functions in a group run one invocation at a time between them: code that keeps its
        # per-request state on class attributes (Powertools' HTTP resolvers) is safe on Lambda,
        # one request per container, but not with several requests in one process
        self._container_locks: dict[str, threading.Lock] = {}
        self._lock_groups: dict[str, str] = {}
        self._session: boto3.Session | None = None

    # lifecycle

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def endpoint_url(self) -> str:
        if not self.running:
            raise RuntimeError("MotoRuntime is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        """Start the server, enable Step Functions execution and install the Lambda hook."""
        global _active  # noqa: PLW0603 - one moto per process: its state is process-wide
        from moto.server import ThreadedMotoServer  # noqa: PLC0415 - heavy import, only when starting

        with _active_lock:
            if _active is not None:
                raise RuntimeError(
                    "a MotoRuntime is already running in this process (moto's state and MOTO_PORT are "
                    "process-wide): stop it first"
                )
            self._previous_moto_port = os.environ.get("MOTO_PORT")
            last_error = "no attempt"
            for _attempt in range(5):
                port = self.requested_port or _free_port(self.host)
                # the Step Functions interpreter calls Lambda at localhost:$MOTO_PORT
                os.environ["MOTO_PORT"] = str(port)
                server = ThreadedMotoServer(ip_address=self.host, port=port, verbose=False)
                starter = threading.Thread(target=server.start, daemon=True, name="moto-start")
                starter.start()
                starter.join(timeout=10)
                if not starter.is_alive():
                    self._server, self.port = server, port
                    break
                last_error = f"could not bind {self.host}:{port}"
                if self.requested_port:
                    break
            if self._server is None:
                self._restore_moto_port()
                raise RuntimeError(f"moto server did not start: {last_error}")
            _active = self
        try:
            self._moto_api("config", {"stepfunctions": {"execute_state_machine": True}})
            serialize_dynamodb()
            transact_writes_copy_items()
            step_functions_parse_once()
            list_moto_modules_once()
            self._uninstall_hook = install_lambda_hook(self._dispatch)
        except BaseException:
            self.stop()
            raise
        LOG.debug("moto server on %s", self.endpoint_url)
        return self

    def stop(self) -> None:
        """Undo the hook, reset moto's state and config, stop the server, restore MOTO_PORT."""
        global _active  # noqa: PLW0603
        if self._uninstall_hook is not None:
            self._uninstall_hook()
            self._uninstall_hook = None
        # taken first, so a second stop running at the same time finds nothing to stop
        server, self._server = self._server, None
        if server is not None:
            base_url = f"http://{self.host}:{self.port}"
            try:
                self._moto_api(
                    "config", {"stepfunctions": {"execute_state_machine": False}}, base_url=base_url
                )
                self._moto_api("reset", None, base_url=base_url)
            except OSError as exc:  # pragma: no cover - the server died under us
                LOG.warning("could not reset moto before stopping: %s", exc)
            server.stop()
            self._restore_moto_port()
        with self._handlers_lock:
            self._handlers.clear()
        with _active_lock:
            if _active is self:
                _active = None

    def _restore_moto_port(self) -> None:
        if self._previous_moto_port is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = self._previous_moto_port

    def reset(self) -> None:
        """Forget every AWS resource (moto's ``/moto-api/reset``); handlers stay registered."""
        self._moto_api("reset", None)
        self._moto_api("config", {"stepfunctions": {"execute_state_machine": True}})

    def _moto_api(self, action: str, body: Any, *, base_url: str | None = None) -> Any:
        data = b"" if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback http URL built here
            f"{base_url or self.endpoint_url}/moto-api/{action}",
            data=data,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    # clients and environment

    def env(self) -> dict[str, str]:
        """Environment variables that make AWS SDKs (in handlers too) talk to this moto."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def session(self) -> boto3.Session:
        """A boto3 session with dummy credentials and this runtime's region."""
        if self._session is None:
            self._session = boto3.Session(
                aws_access_key_id=DUMMY_ACCESS_KEY_ID,
                aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
                region_name=self.region,
            )
        return self._session

    def client(self, service_name: str, **kwargs: Any) -> Any:
        """A boto3 client pinned to this moto (``runtime.client("s3")``)."""
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        kwargs.setdefault("config", Config(retries={"max_attempts": 2, "mode": "standard"}))
        return self.session().client(service_name, **kwargs)  # type: ignore[call-overload]

    def resource(self, service_name: str, **kwargs: Any) -> Any:
        """A boto3 resource pinned to this moto (``runtime.resource("dynamodb")``)."""
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        return self.session().resource(service_name, **kwargs)  # type: ignore[call-overload]

    # handlers

    def share_container(self, group: str, function_names: list[str]) -> None:
        """Run these functions' invocations one at a time between them (see ``_container_lock``)."""
        with self._handlers_lock:
            for name in function_names:
                self._lock_groups[name] = group

    def _container_lock(self, function_name: str) -> threading.Lock | contextlib.nullcontext[None]:
        with self._handlers_lock:
            key = self._lock_groups.get(function_name)
            if key is None:
                return contextlib.nullcontext()
            return self._container_locks.setdefault(key, threading.Lock())

    def register(self, function_name: str, handler: Handler, *, timeout: float | None = None) -> None:
        """Run ``handler`` for every invocation of the Lambda function ``function_name``.

        ``timeout`` overrides the function's configured Timeout (seconds) for the context.
        """
        with self._handlers_lock:
            self._handlers[function_name] = _Registration(handler, timeout)

    def unregister(self, function_name: str) -> None:
        with self._handlers_lock:
            self._handlers.pop(function_name, None)

    @property
    def registered(self) -> frozenset[str]:
        with self._handlers_lock:
            return frozenset(self._handlers)

    def invoke(self, function_name: str, event: Any = None) -> Any:
        """Invoke a function through moto's Lambda API (RequestResponse); raise FunctionError on error."""
        response = self.client("lambda").invoke(
            FunctionName=function_name, Payload=json.dumps({} if event is None else event).encode()
        )
        raw = response["Payload"].read()
        payload = json.loads(raw) if raw else None
        if response.get("FunctionError"):
            raise FunctionError(function_name, payload)
        return payload

    def _dispatch(self, function: Any, event: Any) -> tuple[str, bool, str]:
        if _is_s3_notification(event) and _called_by_s3():
            # S3 delivers notifications asynchronously, after the object (and its metadata) is
            # stored; moto calls the hook inside PutObject, before it sets the metadata
            worker = threading.Timer(0.05, self._run_dispatch, args=(function, event))
            worker.daemon = True
            worker.start()
            return "", False, ""
        return self._run_dispatch(function, event)

    def _run_dispatch(self, function: Any, event: Any) -> tuple[str, bool, str]:
        name = str(function.function_name)
        with self._handlers_lock:
            registration = self._handlers.get(name)
        timeout = float(
            registration.timeout if registration and registration.timeout else (function.timeout or 3)
        )
        context = LambdaContext(
            function_name=name,
            invoked_function_arn=str(function.function_arn),
            memory_limit_in_mb=function.memory_size or 128,
            timeout_seconds=timeout,
            function_version=str(function.version or "$LATEST"),
        )
        request_id = context.aws_request_id
        if registration is None:
            error: dict[str, Any] | None = {
                "errorMessage": f"no in-process handler is registered for Lambda function {name!r}",
                "errorType": "Runtime.HandlerNotFound",
                "requestId": request_id,
                "stackTrace": [],
            }
            payload = ""
            elapsed = 0.0
        else:
            with self._container_lock(name):
                # the clock starts in the container, as on Lambda: waiting for the shared HTTP
                # container under a burst is not the function's time (it timed out calls before)
                started = time.monotonic()
                error, payload = self._run(registration.handler, _decode_event(event), context)
                elapsed = time.monotonic() - started
        if error is None and self.enforce_timeouts and elapsed > timeout:
            error = {
                "errorMessage": f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds",
                "errorType": "Sandbox.Timedout",
            }
        logs = [f"START RequestId: {request_id} Version: {context.function_version}"]
        if error is not None:
            payload = json.dumps(error)
            logs.append(f"[ERROR] {error['errorType']}: {error['errorMessage']}")
        logs.append(f"END RequestId: {request_id}")
        logs.append(
            f"REPORT RequestId: {request_id}\tDuration: {elapsed * 1000:.2f} ms\t"
            f"Memory Size: {context.memory_limit_in_mb} MB"
        )
        return payload, error is not None, "\n".join(logs)

    @staticmethod
    def _run(handler: Handler, event: Any, context: LambdaContext) -> tuple[dict[str, Any] | None, str]:
        try:
            result = handler(event, context)
        except Exception as exc:  # any handler error becomes Lambda's error payload
            LOG.debug("%s raised %s", context.function_name, type(exc).__name__, exc_info=True)
            return lambda_error_payload(exc, context.aws_request_id), ""
        try:
            return None, json.dumps(result, default=_json_default)
        except (TypeError, ValueError) as exc:
            return {
                "errorMessage": f"Unable to marshal response: {exc}",
                "errorType": "Runtime.MarshalError",
                "requestId": context.aws_request_id,
                "stackTrace": [],
            }, ""
