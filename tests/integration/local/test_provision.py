"""provision(): what the fixture template declares exists in moto, named and wired as declared."""

from __future__ import annotations

import json
from pathlib import Path

from local.cfn import Template, load_template_text
from local.provision import provision

from tests.integration.local.conftest import STACK, LocalStack


def test_table_with_gsi_ttl_and_stream(local_stack: LocalStack) -> None:
    provisioned = local_stack.provisioned
    ddb = local_stack.client("dynamodb")
    name = provisioned.tables["ItemsTable"]
    assert name == provisioned.ref("ItemsTable") == f"{STACK}-ItemsTable"
    table = ddb.describe_table(TableName=name)["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "ByGsi1"
    assert index["Projection"] == {"ProjectionType": "ALL"}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert provisioned.get_att("ItemsTable", "StreamArn") == table["LatestStreamArn"]
    assert provisioned.arn("ItemsTable") == table["TableArn"]
    ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"S": "b"}, "gsi1pk": {"S": "g"}})
    found = ddb.query(
        TableName=name,
        IndexName="ByGsi1",
        KeyConditionExpression="gsi1pk = :g",
        ExpressionAttributeValues={":g": {"S": "g"}},
    )
    assert found["Count"] == 1


def test_bucket_secret_queue_and_bus(local_stack: LocalStack) -> None:
    provisioned = local_stack.provisioned
    bucket = provisioned.buckets["FilesBucket"]
    assert bucket == f"{STACK}-filesbucket"
    local_stack.client("s3").head_bucket(Bucket=bucket)
    assert provisioned.arn("FilesBucket") == f"arn:aws:s3:::{bucket}"
    secret = local_stack.client("secretsmanager").get_secret_value(SecretId=provisioned.secrets["ApiSecret"])
    assert secret["Name"] == f"{STACK}/api"
    assert json.loads(secret["SecretString"]) == {"api_key": "fixture-key"}
    attributes = local_stack.client("sqs").get_queue_attributes(
        QueueUrl=provisioned.queues["EventsQueue"], AttributeNames=["All"]
    )["Attributes"]
    assert attributes["VisibilityTimeout"] == "30"
    assert attributes["QueueArn"] == provisioned.arn("EventsQueue")
    assert provisioned.event_buses["FixtureBus"] == f"{STACK}-bus"


def test_event_rule_delivers_to_its_sqs_target(local_stack: LocalStack) -> None:
    provisioned = local_stack.provisioned
    local_stack.client("events").put_events(
        Entries=[
            {
                "Source": "fixture.jobs",
                "DetailType": "JobFinished",
                "Detail": json.dumps({"job_id": "j1"}),
                "EventBusName": provisioned.event_buses["FixtureBus"],
            }
        ]
    )
    sqs = local_stack.client("sqs")
    messages = sqs.receive_message(QueueUrl=provisioned.queues["EventsQueue"], WaitTimeSeconds=1)["Messages"]
    assert json.loads(messages[0]["Body"])["detail"] == {"job_id": "j1"}


def test_state_machine_named_and_substituted(local_stack: LocalStack) -> None:
    provisioned = local_stack.provisioned
    arn = provisioned.state_machines["FlowStateMachine"]
    assert arn == f"arn:aws:states:us-east-1:123456789012:stateMachine:{STACK}-flow"
    description = local_stack.client("stepfunctions").describe_state_machine(stateMachineArn=arn)
    definition = json.loads(description["definition"])
    worker_arn = provisioned.functions["WorkerFunction"].arn
    assert definition["States"]["Flaky"]["Parameters"]["FunctionName"] == worker_arn
    assert "${" not in description["definition"]
    assert provisioned.environment()["FLOW_ARN"] == arn, "the functions' Sub of the name matches"


def test_functions_and_what_was_skipped(local_stack: LocalStack) -> None:
    provisioned = local_stack.provisioned
    functions = local_stack.client("lambda")
    echo = functions.get_function_configuration(FunctionName=provisioned.function_name("EchoFunction"))
    assert echo["Runtime"] == "python3.13"
    assert echo["Timeout"] == 7
    assert echo["MemorySize"] == 256
    assert echo["Environment"]["Variables"]["ECHO_ONLY"] == "yes"
    assert echo["Environment"]["Variables"]["TABLE_NAME"] == provisioned.tables["ItemsTable"]
    assert not echo.get("Layers"), "moto runs no layers: the hook puts layer folders on sys.path"
    assert set(provisioned.functions) == {"EchoFunction", "HttpFunction", "WorkerFunction", "UploadFunction"}
    assert local_stack.runtime.registered >= {f.name for f in provisioned.functions.values()}
    skipped = {lid: r.type for lid, r in provisioned.resources.items() if not r.created}
    assert set(skipped.values()) == {
        "AWS::Lambda::LayerVersion",  # its folder goes on sys.path instead
        "AWS::Lambda::Permission",
        "AWS::S3::BucketPolicy",
        "AWS::ApiGatewayV2::Api",  # the local HTTP front serves the routes
        "AWS::ApiGatewayV2::Stage",
        "AWS::Logs::LogGroup",
    }
    assert {"FilesBucketPolicy", "HttpApi", "EchoFunctionLogs"} <= set(skipped)
    assert provisioned.ref("EchoFunctionLogs") == f"/aws/lambda/{STACK}-EchoFunction"
    assert provisioned.outputs["FlowArn"] == provisioned.state_machines["FlowStateMachine"]
    assert provisioned.outputs["ApiUrl"].startswith(f"https://{provisioned.ref('HttpApi')}.execute-api.")
    assert [r.route_key for r in provisioned.routes] == [
        "GET /items",
        "POST /items",
        "GET /items/{item_id}",
        "PUT /items/{item_id}",
        "GET /items/special",
        "ANY /files/{path+}",
    ]


def test_sam_generated_roles_and_event_source_mapping_exist(local_stack: LocalStack) -> None:
    provisioned = local_stack.provisioned
    worker = provisioned.functions["WorkerFunction"]
    role = local_stack.client("iam").get_role(RoleName=provisioned.ref("WorkerFunctionRole"))["Role"]
    assert worker.role_arn == role["Arn"] == provisioned.arn("WorkerFunctionRole")
    assert "lambda.amazonaws.com" in json.dumps(role["AssumeRolePolicyDocument"])
    (mapping,) = local_stack.client("lambda").list_event_source_mappings(FunctionName=worker.name)[
        "EventSourceMappings"
    ]
    assert mapping["EventSourceArn"] == provisioned.arn("WorkQueue")
    assert mapping["BatchSize"] == 1
    assert provisioned.ref("WorkerFunctionWork") == mapping["UUID"]


def test_sam_generated_bucket_notification_targets_the_function(local_stack: LocalStack) -> None:
    provisioned = local_stack.provisioned
    config = local_stack.client("s3").get_bucket_notification_configuration(
        Bucket=provisioned.buckets["FilesBucket"]
    )
    (notification,) = config["LambdaFunctionConfigurations"]
    assert notification["LambdaFunctionArn"] == provisioned.functions["UploadFunction"].arn
    assert notification["Events"] == ["s3:ObjectCreated:*"]
    assert notification["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "uploads/"}]


def test_generated_secret_follows_its_template(local_stack: LocalStack, tmp_path: Path) -> None:
    template = Template(
        load_template_text(
            """
Resources:
  Generated:
    Type: AWS::SecretsManager::Secret
    Properties:
      GenerateSecretString:
        SecretStringTemplate: '{"username": "svc"}'
        GenerateStringKey: password
        PasswordLength: 24
        ExcludePunctuation: true
"""
        ),
        base_dir=tmp_path,
    )
    provisioned = provision(template, local_stack.runtime, stack_name="generated", register_handlers=False)
    value = local_stack.client("secretsmanager").get_secret_value(SecretId=provisioned.secrets["Generated"])
    document = json.loads(value["SecretString"])
    assert document["username"] == "svc"
    assert len(document["password"]) == 24
    assert document["password"].isalnum()
