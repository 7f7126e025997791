"""The cold start benchmark imports the layer as `sam build` ships it, and its floor rows are real
Powertools handlers. Nothing here is timed: the figures are the benchmark's to print."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.coldstart import Target, floors, layer_copies
from scripts.check_layer_bytecode import missing

from tests.unit.test_cold_imports import run_python

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "mediajobs"


def api_target() -> Target:
    return Target(
        logical_id="ApiFunction",
        module="app",
        code_dir=ROOT / "functions" / "api",
        layer_dirs=(LAYER,),
        environment={"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true"},
    )


def test_the_layer_is_imported_with_every_modules_bytecode_unless_asked_for_its_source(
    tmp_path: Path,
) -> None:
    # Given the API function's target (the layer's source folder)
    target = api_target()
    # When the benchmark copies the layer, with and without bytecode
    (shipped,) = layer_copies([target], tmp_path / "shipped", bytecode=True)
    (source,) = layer_copies([target], tmp_path / "source", bytecode=False)
    # Then the shipped copy has an unchecked-hash .pyc for every module, as the layer's Makefile
    # makes them, and the source copy none (not even one left over from a local run)
    (shipped_layer,), (source_layer,) = shipped.layer_dirs, source.layer_dirs
    assert shipped_layer != LAYER
    assert (shipped_layer / "mediajobs" / "api" / "app.py").is_file()
    assert missing(shipped_layer) == []
    sources = sorted(str(p.relative_to(source_layer)) for p in source_layer.rglob("*.py"))
    assert len(sources) > 50
    assert missing(source_layer) == sources


CALL_FLOOR = """
import json, types
import app
context = types.SimpleNamespace(
    function_name="floor", memory_limit_in_mb=512, invoked_function_arn="arn", aws_request_id="r1"
)
print(json.dumps(app.lambda_handler(json.loads({event!r}), context)))
"""


def test_the_floor_rows_are_working_powertools_handlers(tmp_path: Path) -> None:
    # Given the two floor handler modules the benchmark writes
    http, task = floors(api_target(), tmp_path)
    assert (http.logical_id, task.logical_id) == ("floor: HTTP", "floor: task")
    events = {
        "floor: HTTP": {
            "version": "2.0",
            "routeKey": "POST /things",
            "rawPath": "/things",
            "rawQueryString": "",
            "headers": {"content-type": "application/json"},
            "requestContext": {
                "stage": "$default",
                "http": {"method": "POST", "path": "/things", "sourceIp": "127.0.0.1"},
            },
            "body": json.dumps({"name": "kettle"}),
            "isBase64Encoded": False,
        },
        "floor: task": {"job_id": "j1"},
    }
    for floor in (http, task):
        # When each is imported and called as Lambda would
        code = CALL_FLOOR.format(event=json.dumps(events[floor.logical_id]))
        output = run_python(code, floor.code_dir, floor.environment)
        # Then it answers: validation, routing and parsing are Powertools' own, as in our functions
        answer = json.loads(output.strip().splitlines()[-1])
        if floor is http:
            assert (answer["statusCode"], json.loads(answer["body"])) == (200, {"name": "kettle"})
        else:
            assert answer == {"job_id": "j1"}
