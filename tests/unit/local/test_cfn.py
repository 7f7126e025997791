"""local.cfn: short tags, intrinsic functions, parameters, SAM Globals, the SAM transform and routes."""

from __future__ import annotations

from pathlib import Path

import pytest
from local.cfn import (
    LOCAL_ARTIFACTS,
    NO_VALUE,
    CfnError,
    HttpRoute,
    ResolveContext,
    ResourceValues,
    Template,
    load_template_text,
    references,
    resolve,
)

REPO = Path(__file__).resolve().parents[3]


def ctx(**overrides: object) -> ResolveContext:
    base: dict[str, object] = {
        "stack_name": "demo",
        "parameters": {"Stage": "dev", "Subnets": ["a", "b"], "Count": "3"},
        "resources": {
            "Table": ResourceValues(
                "demo-Table", {"Arn": "arn:aws:dynamodb:us-east-1:123456789012:table/demo-Table"}
            ),
            "Db": ResourceValues("db-1", {"Endpoint.Address": "db.example.com"}),
        },
        "conditions": {
            "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
            "IsDev": {"Fn::Equals": [{"Ref": "Stage"}, "dev"]},
            "Both": {"Fn::And": [{"Condition": "IsDev"}, {"Fn::Not": [{"Condition": "IsProd"}]}]},
        },
        "mappings": {"Sizes": {"dev": {"Memory": 128}, "prod": {"Memory": 1024}}},
        "imports": {"shared-vpc": "vpc-123"},
    }
    base.update(overrides)
    return ResolveContext(**base)  # type: ignore[arg-type]


# --- YAML short tags -----------------------------------------------------------------------------

SHORT_TAGS = """
ref: !Ref Thing
getatt_dot: !GetAtt Table.Arn
getatt_nested: !GetAtt Db.Endpoint.Address
getatt_list: !GetAtt [Table, Arn]
sub: !Sub "${AWS::StackName}-x"
sub_list: !Sub ["${A}-${B}", {A: 1, B: !Ref Stage}]
join: !Join [",", [a, !Ref Stage]]
if: !If [IsProd, big, small]
equals: !Equals [!Ref Stage, prod]
not: !Not [!Condition IsProd]
and: !And [!Condition IsDev, !Condition IsProd]
or: !Or [!Condition IsDev, !Condition IsProd]
condition: !Condition IsDev
select: !Select [1, [x, y, z]]
split: !Split ["|", "a|b"]
findinmap: !FindInMap [Sizes, !Ref Stage, Memory]
getazs: !GetAZs ""
importvalue: !ImportValue shared-vpc
base64: !Base64 hello
cidr: !Cidr ["10.0.0.0/16", 2, 8]
date: 2010-09-09
"""


def test_every_short_tag_becomes_its_long_form() -> None:
    body = load_template_text(SHORT_TAGS)
    assert body["ref"] == {"Ref": "Thing"}
    assert body["getatt_dot"] == {"Fn::GetAtt": ["Table", "Arn"]}
    assert body["getatt_nested"] == {"Fn::GetAtt": ["Db", "Endpoint.Address"]}
    assert body["getatt_list"] == {"Fn::GetAtt": ["Table", "Arn"]}
    assert body["sub"] == {"Fn::Sub": "${AWS::StackName}-x"}
    assert body["sub_list"] == {"Fn::Sub": ["${A}-${B}", {"A": 1, "B": {"Ref": "Stage"}}]}
    assert body["join"] == {"Fn::Join": [",", ["a", {"Ref": "Stage"}]]}
    assert body["if"] == {"Fn::If": ["IsProd", "big", "small"]}
    assert body["equals"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert body["not"] == {"Fn::Not": [{"Condition": "IsProd"}]}
    assert body["and"] == {"Fn::And": [{"Condition": "IsDev"}, {"Condition": "IsProd"}]}
    assert body["or"] == {"Fn::Or": [{"Condition": "IsDev"}, {"Condition": "IsProd"}]}
    assert body["condition"] == {"Condition": "IsDev"}
    assert body["select"] == {"Fn::Select": [1, ["x", "y", "z"]]}
    assert body["split"] == {"Fn::Split": ["|", "a|b"]}
    assert body["findinmap"] == {"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}
    assert body["getazs"] == {"Fn::GetAZs": ""}
    assert body["importvalue"] == {"Fn::ImportValue": "shared-vpc"}
    assert body["base64"] == {"Fn::Base64": "hello"}
    assert body["cidr"] == {"Fn::Cidr": ["10.0.0.0/16", 2, 8]}
    assert body["date"] == "2010-09-09", "CloudFormation reads dates as strings"


def test_short_tags_resolve() -> None:
    body = load_template_text(SHORT_TAGS)
    del body["ref"]
    values = resolve(body, ctx())
    assert values == {
        "getatt_dot": "arn:aws:dynamodb:us-east-1:123456789012:table/demo-Table",
        "getatt_nested": "db.example.com",
        "getatt_list": "arn:aws:dynamodb:us-east-1:123456789012:table/demo-Table",
        "sub": "demo-x",
        "sub_list": "1-dev",
        "join": "a,dev",
        "if": "small",
        "equals": False,
        "not": True,
        "and": False,
        "or": True,
        "condition": True,
        "select": "y",
        "split": ["a", "b"],
        "findinmap": 128,
        "getazs": ["us-east-1a", "us-east-1b", "us-east-1c"],
        "importvalue": "vpc-123",
        "base64": "aGVsbG8=",
        "cidr": ["10.0.0.0/24", "10.0.1.0/24"],
        "date": "2010-09-09",
    }


def test_bad_getatt_short_form_is_rejected() -> None:
    with pytest.raises(CfnError, match=r"LogicalId\.Attribute"):
        load_template_text("x: !GetAtt NoDot")


def test_a_template_must_be_a_mapping() -> None:
    with pytest.raises(CfnError):
        load_template_text("- a list")


# --- Fn::Sub -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sub", "expected"),
    [
        ("${AWS::Region}/${AWS::AccountId}/${AWS::Partition}", "us-east-1/123456789012/aws"),
        ("${AWS::URLSuffix}:${AWS::StackName}", "amazonaws.com:demo"),
        (
            "table ${Table} at ${Table.Arn}",
            "table demo-Table at arn:aws:dynamodb:us-east-1:123456789012:table/demo-Table",
        ),
        ("${Db.Endpoint.Address}", "db.example.com"),
        ("${!Literal} and ${!Stage}", "${Literal} and ${Stage}"),
        ("no variables", "no variables"),
        ("${Stage}-${Count}", "dev-3"),
    ],
)
def test_sub_string_form(sub: str, expected: str) -> None:
    assert resolve({"Fn::Sub": sub}, ctx()) == expected


def test_sub_with_variables_prefers_them_over_parameters() -> None:
    value = {"Fn::Sub": ["${Stage}/${Name}/${AWS::Region}", {"Stage": "override", "Name": {"Ref": "Table"}}]}
    assert resolve(value, ctx()) == "override/demo-Table/us-east-1"


def test_sub_of_unknown_names_fails_clearly() -> None:
    with pytest.raises(CfnError, match="Nope"):
        resolve({"Fn::Sub": "${Nope}"}, ctx())
    with pytest.raises(CfnError, match=r"Table.Missing: unknown attribute \(known: Arn\)"):
        resolve({"Fn::Sub": "${Table.Missing}"}, ctx())


# --- other intrinsics ----------------------------------------------------------------------------


def test_ref_of_parameters_pseudo_parameters_and_resources() -> None:
    c = ctx()
    assert resolve({"Ref": "Stage"}, c) == "dev"
    assert resolve({"Ref": "Subnets"}, c) == ["a", "b"]
    assert resolve({"Ref": "Table"}, c) == "demo-Table"
    assert resolve({"Ref": "AWS::StackName"}, c) == "demo"
    assert resolve({"Ref": "AWS::NotificationARNs"}, c) == []
    assert resolve({"Ref": "AWS::StackId"}, c).startswith(
        "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/"
    )
    with pytest.raises(CfnError, match="Missing"):
        resolve({"Ref": "Missing"}, c)


def test_no_value_removes_keys_and_list_items() -> None:
    value = {
        "Keep": 1,
        "Drop": {"Fn::If": ["IsProd", "x", {"Ref": "AWS::NoValue"}]},
        "List": ["a", {"Fn::If": ["IsDev", {"Ref": "AWS::NoValue"}, "b"]}],
    }
    assert resolve(value, ctx()) == {"Keep": 1, "List": ["a"]}
    assert resolve({"Ref": "AWS::NoValue"}, ctx()) is NO_VALUE


def test_iam_condition_blocks_are_not_mistaken_for_conditions() -> None:
    statement = {"Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    assert resolve(statement, ctx()) == statement


def test_conditions_are_memoised_and_combined() -> None:
    c = ctx()
    assert c.condition("Both") is True
    assert c.condition_values == {"IsDev": True, "IsProd": False, "Both": True}
    with pytest.raises(CfnError, match="unknown condition"):
        c.condition("Nope")


def test_self_referencing_condition_is_an_error() -> None:
    c = ctx(conditions={"Loop": {"Fn::Not": [{"Condition": "Loop"}]}})
    with pytest.raises(CfnError, match="refers to itself"):
        c.condition("Loop")


def test_find_in_map_default_value_and_missing_key() -> None:
    c = ctx()
    assert resolve({"Fn::FindInMap": ["Sizes", "test", "Memory", {"DefaultValue": 256}]}, c) == 256
    with pytest.raises(CfnError, match=r"Sizes.test.Memory"):
        resolve({"Fn::FindInMap": ["Sizes", "test", "Memory"]}, c)


def test_select_out_of_range_and_import_of_unknown_export() -> None:
    with pytest.raises(CfnError, match="out of range"):
        resolve({"Fn::Select": [5, ["a"]]}, ctx())
    with pytest.raises(CfnError, match="no such export"):
        resolve({"Fn::ImportValue": "other"}, ctx())


def test_get_azs_of_a_named_region_and_cidr_limits() -> None:
    assert resolve({"Fn::GetAZs": "eu-west-1"}, ctx()) == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    with pytest.raises(CfnError):
        resolve({"Fn::Cidr": ["10.0.0.0/30", 4, 8]}, ctx())


def test_references_lists_what_a_value_depends_on() -> None:
    value = {
        "A": {"Ref": "Table"},
        "B": {"Fn::GetAtt": ["Queue", "Arn"]},
        "C": {"Fn::Sub": "${Bucket.Arn}/${AWS::Region}/${!Escaped}"},
        "D": {"Fn::Sub": ["${Local}-${Fn}", {"Local": {"Ref": "Param"}}]},
        "E": {"Fn::GetAtt": "Short.Arn"},
    }
    assert references(value) == {"Table", "Queue", "Bucket", "AWS::Region", "Fn", "Param", "Short"}


# --- parameters ----------------------------------------------------------------------------------

PARAMS_TEMPLATE = """
Parameters:
  Stage: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Name: {Type: String, AllowedPattern: "^[a-z]+$", MaxLength: 5}
  Size: {Type: Number, Default: 30, MinValue: 1, MaxValue: 100}
  Zones: {Type: CommaDelimitedList, Default: "a, b"}
Resources: {}
"""


def test_parameters_get_defaults_as_strings_and_lists() -> None:
    template = Template(load_template_text(PARAMS_TEMPLATE))
    assert template.parameter_values({"Name": "abc"}) == {
        "Stage": "dev",
        "Name": "abc",
        "Size": "30",
        "Zones": ["a", "b"],
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "without a value or default: Name"),
        ({"Name": "abc", "Stage": "qa"}, "not one of"),
        ({"Name": "ABC"}, "does not match"),
        ({"Name": "abcdefg"}, "longer than"),
        ({"Name": "abc", "Size": 0}, "below"),
        ({"Name": "abc", "Size": 101}, "above"),
        ({"Name": "abc", "Size": "many"}, "not a number"),
        ({"Name": "abc", "Other": "x"}, "unknown parameters: Other"),
    ],
)
def test_parameter_constraints(overrides: dict[str, object], message: str) -> None:
    template = Template(load_template_text(PARAMS_TEMPLATE))
    with pytest.raises(CfnError, match=message):
        template.parameter_values(overrides)


# --- SAM Globals ---------------------------------------------------------------------------------


SAM_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev}
Globals:
  Function:
    Runtime: python3.13
    Handler: app.handler
    Timeout: 30
    Layers: [!Ref Lib]
    Environment: {Variables: {A: global, B: global}}
    Tags: {team: x}
Resources:
  Lib: {Type: AWS::Serverless::LayerVersion, Properties: {ContentUri: layers/lib/}}
  Queue: {Type: AWS::SQS::Queue}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/fn/
      Timeout: 10
      Layers: [layer-b]
      Environment: {Variables: {B: local, C: !Ref Stage}}
      Events:
        Work: {Type: SQS, Properties: {Queue: !GetAtt Queue.Arn, BatchSize: 1}}
  Plain:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: functions/plain/, Environment: !If [Never, {Variables: {}}, !Ref AWS::NoValue]}
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: statemachine/flow.asl.json
      DefinitionSubstitutions: {FnArn: !GetAtt Fn.Arn}
      Policies: [{LambdaInvokePolicy: {FunctionName: !Ref Fn}}]
Conditions:
  Never: !Equals [a, b]
"""


def test_globals_merge_like_sam() -> None:
    template = Template(load_template_text(SAM_TEMPLATE))
    assert template.properties("Fn") == {
        "Runtime": "python3.13",
        "Handler": "app.handler",
        "Timeout": 10,
        "Layers": [{"Ref": "Lib"}, "layer-b"],
        "Environment": {"Variables": {"A": "global", "B": "local", "C": {"Ref": "Stage"}}},
        "Tags": {"team": "x"},
        "CodeUri": "functions/fn/",
        "Events": {
            "Work": {"Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": ["Queue", "Arn"]}, "BatchSize": 1}}
        },
    }
    assert template.globals["Function"]["Layers"] == [{"Ref": "Lib"}], "the Globals section is not modified"
    assert template.properties("Queue") == {}, "no Globals section for plain CloudFormation types"


def test_globals_intrinsic_on_the_resource_side_takes_the_local_value() -> None:
    template = Template(load_template_text(SAM_TEMPLATE))
    assert template.properties("Plain")["Environment"] == {
        "Fn::If": ["Never", {"Variables": {}}, {"Ref": "AWS::NoValue"}]
    }


def test_unknown_globals_property_is_an_error() -> None:
    template = Template(
        load_template_text(
            "Globals: {Function: {NoSuchProperty: 1}}\nResources: {Fn: {Type: AWS::Serverless::Function}}"
        )
    )
    with pytest.raises(CfnError, match="NoSuchProperty"):
        template.properties("Fn")


def test_sam_transform_gives_plain_cloudformation_with_local_artifacts() -> None:
    template = Template(load_template_text(SAM_TEMPLATE), base_dir="somewhere")
    cfn = template.to_cloudformation()
    assert cfn.transform is None
    assert cfn.base_dir == Path("somewhere")
    assert not [lid for lid, r in cfn.resources.items() if r.type.startswith("AWS::Serverless::")]
    function = cfn.resources["Fn"].properties
    assert cfn.resources["Fn"].type == "AWS::Lambda::Function"
    assert function["Code"] == {"S3Bucket": LOCAL_ARTIFACTS, "S3Key": "functions/fn/"}
    assert function["Timeout"] == 10
    assert function["Environment"]["Variables"]["A"] == "global"
    (layer_ref, _) = function["Layers"]
    assert cfn.resources[layer_ref["Ref"]].properties["Content"] == {
        "S3Bucket": LOCAL_ARTIFACTS,
        "S3Key": "layers/lib/",
    }
    assert function["Role"] == {"Fn::GetAtt": ["FnRole", "Arn"]}
    assert cfn.resources["FnRole"].type == "AWS::IAM::Role"
    mapping = cfn.resources["FnWork"]
    assert mapping.type == "AWS::Lambda::EventSourceMapping"
    assert mapping.properties["EventSourceArn"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    machine = cfn.resources["Machine"].properties
    assert machine["DefinitionS3Location"] == {"Bucket": LOCAL_ARTIFACTS, "Key": "statemachine/flow.asl.json"}
    assert machine["DefinitionSubstitutions"] == {"FnArn": {"Fn::GetAtt": ["Fn", "Arn"]}}


def test_sam_transform_errors_name_the_resource() -> None:
    template = Template(
        load_template_text(
            "Transform: AWS::Serverless-2016-10-31\n"
            "Resources: {Fn: {Type: AWS::Serverless::Function, Properties: {}}}"
        )
    )
    with pytest.raises(CfnError, match=r"\[Fn\]"):
        template.to_cloudformation()


def test_template_without_transform_is_copied_as_is() -> None:
    template = Template(load_template_text("Resources: {Q: {Type: AWS::SQS::Queue}}"))
    cfn = template.to_cloudformation()
    assert cfn is not template
    assert list(cfn.resources) == ["Q"]


# --- the project's template ----------------------------------------------------------------------


def test_real_template_loads_and_lists_its_routes() -> None:
    template = Template.load(REPO / "template.yaml")
    routes = {(r.method, r.path): r.function for r in template.routes}
    assert routes[("POST", "/v1/jobs")] == "ApiFunction"
    assert routes[("GET", "/v1/jobs/{job_id}")] == "ApiFunction"
    assert all(r.payload_format_version == "2.0" for r in template.routes)
    assert all(r.function in template.resources_of_type("AWS::Serverless::Function") for r in template.routes)
    webhook_routes = [r for r in template.routes if r.function == "ProviderWebhookFunction"]
    assert webhook_routes, "provider webhooks are HTTP routes"
    assert HttpRoute("POST", "/v1/jobs", "ApiFunction", "CreateJob").route_key == "POST /v1/jobs"


def test_real_template_functions_get_the_globals() -> None:
    template = Template.load(REPO / "template.yaml")
    global_function = template.globals["Function"]
    for logical_id, props in template.functions.items():
        assert props["Runtime"] == global_function["Runtime"], logical_id
        assert props["Handler"] == global_function["Handler"], logical_id
        own = template.resources[logical_id].properties
        assert props["Timeout"] == own.get("Timeout", global_function["Timeout"]), logical_id
        variables = props["Environment"]["Variables"]
        assert set(global_function["Environment"]["Variables"]) <= set(variables), logical_id


def test_real_template_resolves_with_parameters() -> None:
    template = Template.load(REPO / "template.yaml")
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf"
    required = [name for name, decl in template.parameters.items() if "Default" not in decl]
    context = template.context(
        "mj",
        dict.fromkeys(required, secret),
        {lid: ResourceValues(f"mj-{lid}", {"Arn": f"arn:{lid}"}) for lid in template.resources},
    )
    for logical_id, props in template.functions.items():
        environment = resolve(props["Environment"], context)["Variables"]
        assert all(isinstance(v, str) for v in environment.values()), logical_id
    machines = template.resources_of_type("AWS::Serverless::StateMachine")
    for logical_id in machines:
        props = resolve(template.properties(logical_id), context)
        assert props["Name"].startswith("mj-")
