"""What a function's cold start imports, and the tracer that is built only when tracing is on.

Each check runs in a fresh interpreter (imports are per process); nothing here is timed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "mediajobs"
FUNCTIONS = sorted(path.parent.name for path in (ROOT / "functions").glob("*/app.py"))
#: the functions that serve HTTP (Powertools' resolvers); every other one is a task
HTTP_FUNCTIONS = {"api", "console", "provider_webhook"}
TASK_FUNCTIONS = [name for name in FUNCTIONS if name not in HTTP_FUNCTIONS]
#: what only tracing or the HTTP edge needs
HEAVY = ("aws_xray_sdk", "aws_lambda_powertools.event_handler", "mediajobs.api.app")
TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

LOADED = """
import json, sys
import {module}
print(json.dumps(sorted(name for name in sys.modules if name.startswith({prefixes!r}))))
"""
#: every task function's handler module, in one process: what any of them loads stays loaded
ALL_TASKS = """
import importlib.util, json, sys
for name, folder in {folders!r}:
    sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location("app_" + name, folder + "/app.py")
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    sys.path.remove(folder)
print(json.dumps(sorted(name for name in sys.modules if name.startswith({prefixes!r}))))
"""


def run_python(code: str, cwd: Path, environment: dict[str, str]) -> str:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("POWERTOOLS_", "LAMBDA_", "_X_AMZN"))
    }
    env |= {"PYTHONPATH": os.pathsep.join([str(cwd), str(LAYER)]), "AWS_DEFAULT_REGION": "us-east-1"}
    env |= environment
    done = subprocess.run(  # noqa: S603 - this interpreter, code from this file
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def loaded_modules(function: str, environment: dict[str, str]) -> list[str]:
    code = LOADED.format(module="app", prefixes=HEAVY)
    return list(json.loads(run_python(code, ROOT / "functions" / function, environment)))


def test_no_task_function_imports_xray_or_the_http_layer_when_tracing_is_off() -> None:
    # Given every task function's code with tracing disabled, as the local stack runs them
    folders = [(name, str(ROOT / "functions" / name)) for name in TASK_FUNCTIONS]
    assert len(folders) > 10
    # When their handler modules are imported, all in one fresh process
    code = ALL_TASKS.format(folders=folders, prefixes=HEAVY)
    loaded = json.loads(run_python(code, LAYER, {"POWERTOOLS_TRACE_DISABLED": "true"}))
    # Then none imported the X-Ray SDK, Powertools' HTTP resolvers or our API app
    assert loaded == []


def test_a_task_function_in_lambda_does_not_import_xray_before_its_first_call() -> None:
    # Given the Lambda environment with tracing on (no POWERTOOLS_TRACE_DISABLED)
    loaded = loaded_modules("submit_job", {"LAMBDA_TASK_ROOT": str(ROOT / "functions" / "submit_job")})
    # Then importing the handler module loaded no X-Ray (it comes with the first traced call)
    assert not [name for name in loaded if name.startswith("aws_xray_sdk")]


def test_the_api_function_does_not_import_xray_when_tracing_is_off() -> None:
    loaded = loaded_modules("api", {"POWERTOOLS_TRACE_DISABLED": "true"})
    assert "mediajobs.api.app" in loaded
    assert not [name for name in loaded if name.startswith("aws_xray_sdk")]


OPENAPI_MODELS = "aws_lambda_powertools.event_handler.openapi.models"
DOCUMENT_READ = """
import json, sys
import app
before = {models!r} in sys.modules
event = json.load(open({event!r}))
event["rawPath"] = event["requestContext"]["http"]["path"] = {path!r}
event["routeKey"] = "GET " + {path!r}
event["headers"].pop("authorization", None)
answer = app.app.resolve(event, None)
print(json.dumps([before, {models!r} in sys.modules, answer["statusCode"], answer["body"][:200]]))
"""


def test_the_api_loads_powertools_openapi_models_only_when_a_document_is_asked_for() -> None:
    # Given the API function, as the local stack runs it
    event = str(ROOT / "events" / "api_get_job.json")
    environment = {"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true"}
    for path, shown in (("/v1/openapi.json", '"openapi"'), ("/v1/docs", "<title>Swagger UI</title>")):
        # When it is imported, then asked for the document or the docs page
        code = DOCUMENT_READ.format(models=OPENAPI_MODELS, event=event, path=path)
        before, after, status, body = json.loads(run_python(code, ROOT / "functions" / "api", environment))
        # Then the OpenAPI models were not imported at cold start, and the answer carries them
        assert (before, after, status) == (False, True, 200), path
        assert shown in body, body


TRACED_CALL = """
import json, sys
from mediajobs.observability import tracer

@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event, context):
    return {"answer": event["question"] * 2, "xray_loaded": "aws_xray_sdk.core" in sys.modules}

print(json.dumps([lambda_handler({"question": 21}, None), lambda_handler({"question": 1}, None)]))
"""


def test_the_handler_decorator_sends_a_subsegment_to_the_xray_daemon_when_tracing_is_on() -> None:
    # Given a fake X-Ray daemon (UDP on a free loopback port) and the Lambda environment, tracing on
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        daemon.settimeout(30)
        address = f"127.0.0.1:{daemon.getsockname()[1]}"
        environment = {
            "LAMBDA_TASK_ROOT": str(LAYER),
            "_X_AMZN_TRACE_ID": TRACE_ID,
            "AWS_XRAY_DAEMON_ADDRESS": address,
            "POWERTOOLS_SERVICE_NAME": "mediajobs",
        }
        # When a handler decorated with capture_lambda_handler runs twice
        answers = json.loads(run_python(TRACED_CALL, LAYER, environment))
        datagram = daemon.recv(65536).decode()
    # Then it answered as undecorated, with Powertools' Tracer (and X-Ray) built for the call
    assert answers == [{"answer": 42, "xray_loaded": True}, {"answer": 2, "xray_loaded": True}]
    # and the daemon received the handler's subsegment, in the invocation's trace, annotated
    _header, _, body = datagram.partition("\n")
    subsegment = json.loads(body)
    assert subsegment["name"] == "## lambda_handler"
    assert subsegment["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert subsegment["annotations"] == {"ColdStart": True, "Service": "mediajobs"}


def test_the_handler_decorator_only_passes_the_call_through_when_tracing_is_off() -> None:
    answers = json.loads(run_python(TRACED_CALL, LAYER, {"POWERTOOLS_TRACE_DISABLED": "true"}))
    assert answers == [{"answer": 42, "xray_loaded": False}, {"answer": 2, "xray_loaded": False}]
