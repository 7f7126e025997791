"""The project's own template.yaml provisions in moto (functions, state machine from its ASL file, table)."""

from __future__ import annotations

import json
from pathlib import Path

from local.cfn import Template
from local.provision import provision

from tests.integration.local.conftest import LocalStack

REPO = Path(__file__).resolve().parents[3]
STACK = "mediajobs-real"


def test_real_template_provisions(local_stack: LocalStack) -> None:
    template = Template.load(REPO / "template.yaml")
    runtime = local_stack.runtime  # moto is one per process: share it, under another stack name
    secrets = runtime.client("secretsmanager")
    parameters = {
        name: secrets.create_secret(Name=f"{STACK}/{name}", SecretString="{}")["ARN"]
        for name, decl in template.parameters.items()
        if "Default" not in decl
    }
    provisioned = provision(
        template, runtime, stack_name=STACK, parameters=parameters, project_root=REPO, register_handlers=False
    )

    assert set(provisioned.functions) == set(template.functions)
    lambdas = runtime.client("lambda")
    for logical_id, function in provisioned.functions.items():
        config = lambdas.get_function_configuration(FunctionName=function.name)
        expected_timeout = template.function_properties(logical_id)["Timeout"]
        assert config["Timeout"] == expected_timeout, logical_id
        handler = provisioned.handlers[logical_id]
        assert handler.source_file.is_file(), f"{logical_id}: no {handler.source_file}"
        assert function.layer_dirs, f"{logical_id}: the shared layer is on its path"

    environment = provisioned.environment()  # no conflicting variables between functions
    machine_arn = provisioned.state_machines["JobStateMachine"]
    assert environment["STATE_MACHINE_ARN"] == machine_arn
    assert environment["JOBS_TABLE"] == provisioned.tables["JobsTable"]
    assert environment["MEDIA_BUCKET"] == provisioned.buckets["MediaBucket"]

    sfn = runtime.client("stepfunctions")
    definitions = [
        sfn.describe_state_machine(stateMachineArn=arn)["definition"]
        for arn in provisioned.state_machines.values()
    ]
    assert all("${" not in d for d in definitions), "every DefinitionSubstitution was applied"
    resources = " ".join(json.dumps(json.loads(d)) for d in definitions)
    for function in provisioned.functions.values():
        if not template.function_properties(function.logical_id).get("Events"):
            assert function.arn in resources, (
                f"{function.logical_id} is neither triggered nor used by a state machine"
            )

    table = runtime.client("dynamodb").describe_table(TableName=provisioned.tables["JobsTable"])["Table"]
    assert "ProviderTaskIndex" in [i["IndexName"] for i in table["GlobalSecondaryIndexes"]]
    assert {r.function for r in provisioned.routes} == {
        "ApiFunction",
        "ConsoleFunction",
        "ProviderWebhookFunction",
    }
