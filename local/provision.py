"""Create in moto what a SAM template declares, and wire the functions to in-process handlers.

:func:`provision` hands a SAM template to SAM's own translator (``samtranslator``, through
:meth:`local.cfn.Template.to_cloudformation`): Globals, function events, implicit roles, layers
and state machines come out as plain CloudFormation, exactly what ``sam deploy`` would create.
It then walks those resources in dependency order (Ref / GetAtt / Sub / DependsOn), resolves
their properties with :mod:`local.cfn` and creates them through boto3 against a running
:class:`~local.moto_runtime.MotoRuntime`:

* ``AWS::DynamoDB::Table`` (indexes, stream, TTL), ``AWS::S3::Bucket`` (notifications, applied
  last: they name functions that may name the bucket), ``AWS::SQS::Queue``,
  ``AWS::Events::EventBus``, ``AWS::Events::Rule`` (SQS targets), ``AWS::SecretsManager::Secret``
  (``GenerateSecretString`` through GetRandomPassword), ``AWS::SSM::Parameter``, ``AWS::IAM::Role``;
* ``AWS::Lambda::Function``: ``lambda.create_function`` (dummy zip, no Layers) and an in-process
  handler (:class:`ModuleHandler`) for its local code folder, with its layers' folders on the
  path; ``AWS::Lambda::EventSourceMapping`` as declared;
* ``AWS::StepFunctions::StateMachine`` (definition file or inline, ``DefinitionSubstitutions``
  applied).

The functions' ``HttpApi`` events become :attr:`Provisioned.routes` for the local HTTP front.
What has no local meaning (log groups, bucket policies, API Gateway, layers, permissions,
alarms...) is skipped with a debug note, but still gets ``Ref`` / ``GetAtt`` values so that
whatever refers to it resolves.

Why not moto's own CloudFormation (``cloudformation.create_stack`` on the translated template)?
Tried with moto 5.2.5 on this project's template.yaml: the stack reaches CREATE_COMPLETE (in 1.5
to 3 s; this module takes under 1 s), and DynamoDB tables (indexes, streams), SQS queues, IAM roles, log
groups, Lambda functions and layers (placeholder zips in S3, no Docker), event source mappings and
rules are created as declared, but

* ``AWS::StepFunctions::StateMachine`` lands in moto's plain Step Functions backend, while with
  execution turned on the API answers from the interpreter's backend: the machines are not
  there (describe fails, list is empty); ``DefinitionSubstitutions`` and
  ``DefinitionS3Location`` are ignored as well;
* ``AWS::SecretsManager::Secret``, ``AWS::ApiGatewayV2::*``, ``AWS::S3::BucketPolicy`` and
  ``AWS::CloudWatch::Alarm`` are not supported: a ``Ref`` to them silently drops the property
  that holds it, and ``!Sub "https://${HttpApi}..."`` stays literally ``${HttpApi}``;
* ``Ref`` of an ``AWS::Events::EventBus`` is moto's Python object: a function whose environment
  holds it makes every later Lambda API call answer 500;
* ``AWS::S3::Bucket`` ignores ``NotificationConfiguration`` (the upload trigger never fires);
  ``AWS::DynamoDB::Table`` ignores ``TimeToLiveSpecification``; ``Number`` parameters reach the
  Lambda environment as numbers;
* the test fixture's bucket -> notification -> function -> bucket cycle (real CloudFormation
  refuses it too; here notifications are applied last) makes moto recurse until it answers 500.

Working around each of these would take more code than creating the resources directly, so the
creation stays here; ``tests/integration/local/test_moto_cloudformation_limits.py`` pins the gaps
and fails when a moto upgrade closes one. cfn-lint's template model was not used either: it
reads conditions and Globals to lint them, not to evaluate them with parameter values.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import logging
import re
import sys
import threading
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import yaml

from local.cfn import (
    LOCAL_ARTIFACTS,
    CfnError,
    HttpRoute,
    ResolveContext,
    ResourceValues,
    Template,
    references,
    resolve,
)
from local.moto_runtime import ACCOUNT_ID, Handler, LambdaContext, MotoRuntime

__all__ = [
    "HandlerImportError",
    "ModuleHandler",
    "ProvisionError",
    "Provisioned",
    "ProvisionedFunction",
    "ProvisionedResource",
    "provision",
]

LOG = logging.getLogger(__name__)

#: Resource types that have no local meaning: not created, given synthetic Ref/GetAtt values.
SKIPPED_TYPES: Final = frozenset(
    {
        "AWS::Logs::LogGroup",
        "AWS::Logs::MetricFilter",
        "AWS::Logs::SubscriptionFilter",
        "AWS::S3::BucketPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::Lambda::LayerVersion",
        "AWS::Lambda::Permission",
        "AWS::Lambda::Version",
        "AWS::Lambda::Alias",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::CompositeAlarm",
        "AWS::CloudWatch::Dashboard",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::KMS::Key",
        "AWS::KMS::Alias",
        "AWS::CertificateManager::Certificate",
        "AWS::Route53::RecordSet",
        "AWS::XRay::Group",
        "AWS::XRay::SamplingRule",
    }
)
_SKIPPED_PREFIXES: Final = ("AWS::ApiGateway::", "AWS::ApiGatewayV2::", "AWS::CloudWatch::")


class ProvisionError(CfnError):
    """The template asks for something the local stack cannot do (or contradicts itself)."""


class HandlerImportError(Exception):
    """A function's handler module could not be imported (Lambda: ``Runtime.ImportModuleError``)."""

    lambda_error_type = "Runtime.ImportModuleError"


class HandlerNotFoundError(Exception):
    """The handler module has no such function (Lambda: ``Runtime.HandlerNotFound``)."""

    lambda_error_type = "Runtime.HandlerNotFound"


# --- in-process handlers -------------------------------------------------------------------------

_IMPORT_LOCK = threading.RLock()


class ModuleHandler:
    """The handler ``module.function`` of a function, imported from its CodeUri at first call.

    The module is imported under a unique name (``_local_lambda.<LogicalId>.<module>``) so that
    every function's ``app.py`` stays apart; the function's layer content folders are put on
    ``sys.path`` (for good: layers are shared), and its code folder only while the module is
    imported (so ``import helpers`` of a sibling file works). An import failure is raised at
    every call until the import succeeds, like a Lambda cold start.
    """

    def __init__(
        self, *, logical_id: str, code_dir: Path, handler: str, layer_dirs: tuple[Path, ...] = ()
    ) -> None:
        module_path, sep, function_name = handler.rpartition(".")
        if not sep or not module_path or not function_name:
            raise ProvisionError(f"{logical_id}: Handler {handler!r} is not of the form module.function")
        self.logical_id = logical_id
        self.code_dir = code_dir
        self.handler = handler
        self.module_path = module_path
        self.function_name = function_name
        self.layer_dirs = layer_dirs
        safe_id = re.sub(r"\W", "_", logical_id)
        self.module_name = f"_local_lambda.{safe_id}.{module_path.replace('/', '.')}"
        self._function: Handler | None = None

    @property
    def source_file(self) -> Path:
        base = self.code_dir.joinpath(*self.module_path.replace("/", ".").split("."))
        package_init = base / "__init__.py"
        return package_init if package_init.is_file() else base.with_suffix(".py")

    def load(self) -> Handler:
        if self._function is not None:
            return self._function
        with _IMPORT_LOCK:
            if self._function is None:
                self._function = self._import()
            return self._function

    def _import(self) -> Handler:
        for layer_dir in self.layer_dirs:
            if str(layer_dir) not in sys.path:
                sys.path.append(str(layer_dir))
        source = self.source_file
        if not source.is_file():
            raise HandlerImportError(
                f"Unable to import module '{self.module_path}': no {source.name} in {self.code_dir}"
            )
        _ensure_parent_packages(self.module_name)
        spec = importlib.util.spec_from_file_location(self.module_name, source)
        if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a loader
            raise HandlerImportError(f"Unable to import module '{self.module_path}'")
        module = importlib.util.module_from_spec(spec)
        sys.modules[self.module_name] = module
        code_dir = str(self.code_dir)
        sys.path.insert(0, code_dir)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(self.module_name, None)
            raise HandlerImportError(f"Unable to import module '{self.module_path}': {exc}") from exc
        finally:
            with contextlib.suppress(ValueError):  # somebody else removed it
                sys.path.remove(code_dir)
        function = getattr(module, self.function_name, None)
        if not callable(function):
            raise HandlerNotFoundError(
                f"Handler '{self.function_name}' missing on module '{self.module_path}'"
            )
        handler: Handler = function
        return handler

    def __call__(self, event: Any, context: LambdaContext) -> Any:
        return self.load()(event, context)

    def __repr__(self) -> str:
        return f"ModuleHandler({self.logical_id}: {self.code_dir.name}/{self.handler})"


def _ensure_parent_packages(module_name: str) -> None:
    parts = module_name.split(".")
    for depth in range(1, len(parts)):
        name = ".".join(parts[:depth])
        if name not in sys.modules:
            package = ModuleType(name)
            package.__path__ = []
            sys.modules[name] = package


# --- result --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProvisionedResource:
    logical_id: str
    type: str
    ref: Any
    attributes: dict[str, Any]
    created: bool
    note: str = ""

    @property
    def values(self) -> ResourceValues:
        return ResourceValues(self.ref, self.attributes)


@dataclass(frozen=True)
class ProvisionedFunction:
    logical_id: str
    name: str
    arn: str
    handler: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]
    environment: dict[str, str]
    timeout: int
    memory_size: int
    role_arn: str
    runtime: str


@dataclass
class Provisioned:
    """What :func:`provision` created: look things up by logical id."""

    stack_name: str
    parameters: dict[str, Any]
    resources: dict[str, ProvisionedResource] = field(default_factory=dict)
    functions: dict[str, ProvisionedFunction] = field(default_factory=dict)
    routes: list[HttpRoute] = field(default_factory=list)
    state_machines: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    event_buses: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    handlers: dict[str, ModuleHandler] = field(default_factory=dict)

    def _resource(self, logical_id: str) -> ProvisionedResource:
        if logical_id not in self.resources:
            raise KeyError(f"no resource {logical_id!r} in stack {self.stack_name}")
        return self.resources[logical_id]

    def ref(self, logical_id: str) -> Any:
        """What ``!Ref LogicalId`` gives (table/bucket/function name, queue URL, ARN...)."""
        return self._resource(logical_id).ref

    def physical_id(self, logical_id: str) -> str:
        return str(self.ref(logical_id))

    def get_att(self, logical_id: str, attribute: str) -> Any:
        return self._resource(logical_id).attributes[attribute]

    def arn(self, logical_id: str) -> str:
        resource = self._resource(logical_id)
        if "Arn" in resource.attributes:
            return str(resource.attributes["Arn"])
        if isinstance(resource.ref, str) and resource.ref.startswith("arn:"):
            return resource.ref
        raise KeyError(f"{logical_id} has no ARN")

    def function_name(self, logical_id: str) -> str:
        if logical_id not in self.functions:
            raise KeyError(f"no function {logical_id!r} in stack {self.stack_name}")
        return self.functions[logical_id].name

    def environment(self) -> dict[str, str]:
        """The environment of all functions merged (they share one process).

        Raises ProvisionError when two functions set one variable to different values.
        """
        merged: dict[str, str] = {}
        owner: dict[str, str] = {}
        for logical_id, function in self.functions.items():
            for key, value in function.environment.items():
                if key in merged and merged[key] != value:
                    raise ProvisionError(
                        f"environment variable {key} is {merged[key]!r} for {owner[key]} but {value!r} "
                        f"for {logical_id}: in-process functions share one environment"
                    )
                merged[key] = value
                owner.setdefault(key, logical_id)
        return merged


# --- provisioning --------------------------------------------------------------------------------

#: Properties that do not make a resource depend on what they name (applied after all resources):
#: a bucket's notifications name functions that may name the bucket.
_LATE_PROPERTIES: Final = {"AWS::S3::Bucket": ("NotificationConfiguration",)}

_PASSWORD_FLAGS: Final = (
    "ExcludeNumbers",
    "ExcludePunctuation",
    "ExcludeUppercase",
    "ExcludeLowercase",
    "IncludeSpace",
    "RequireEachIncludedType",
)

#: What is created in moto, by resource type (everything else gets synthetic Ref / GetAtt values).
_CREATORS: Final = {
    "AWS::DynamoDB::Table": "dynamodb_table",
    "AWS::S3::Bucket": "s3_bucket",
    "AWS::SQS::Queue": "sqs_queue",
    "AWS::Events::EventBus": "event_bus",
    "AWS::Events::Rule": "event_rule",
    "AWS::SecretsManager::Secret": "secret",
    "AWS::SSM::Parameter": "ssm_parameter",
    "AWS::IAM::Role": "iam_role",
    "AWS::Lambda::Function": "function",
    "AWS::Lambda::EventSourceMapping": "event_source_mapping",
    "AWS::StepFunctions::StateMachine": "state_machine",
}


def provision(
    template: Template,
    runtime: MotoRuntime,
    *,
    stack_name: str,
    parameters: Mapping[str, Any] | None = None,
    project_root: Path | str | None = None,
    register_handlers: bool = True,
) -> Provisioned:
    """Create the template's resources in ``runtime``'s moto; register the functions' handlers.

    A SAM template is first translated to CloudFormation by SAM's translator (see
    :meth:`~local.cfn.Template.to_cloudformation`). ``project_root`` is where CodeUri, ContentUri
    and DefinitionUri paths start (default: the template's folder). With
    ``register_handlers=False`` the functions exist in moto but no in-process handler is
    registered (the caller registers its own).
    """
    provisioner = _Provisioner(
        template,
        runtime,
        stack_name=stack_name,
        parameters=parameters,
        project_root=Path(project_root) if project_root is not None else template.base_dir,
    )
    result = provisioner.run()
    if register_handlers:
        for logical_id, handler in result.handlers.items():
            runtime.register(result.functions[logical_id].name, handler)
    return result


def _physical_name(stack_name: str, logical_id: str, max_length: int = 64) -> str:
    name = f"{stack_name}-{logical_id}"
    if len(name) <= max_length:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: max_length - 9]}-{digest}"


def _bucket_name(stack_name: str, logical_id: str) -> str:
    name = re.sub(r"[^a-z0-9.-]", "-", f"{stack_name}-{logical_id}".lower()).strip("-.")
    if len(name) > 63:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = f"{name[:54].rstrip('-.')}-{digest}"
    return name


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ProvisionError(f"{where} must be a string, number or boolean, got {value!r}")


def _creation_order(template: Template, active: list[str]) -> list[str]:
    """Logical ids in dependency order (template order among independent ones)."""
    position = {lid: i for i, lid in enumerate(active)}
    depends: dict[str, set[str]] = {}
    for lid in active:
        resource = template.resources[lid]
        properties = template.properties(lid)
        for key in _LATE_PROPERTIES.get(resource.type, ()):
            properties.pop(key, None)
        # DependsOn on what is not created locally (e.g. SAM's bucket -> Lambda::Permission) orders nothing
        created = {
            d
            for d in resource.depends_on
            if d in template.resources and template.resources[d].type in _CREATORS
        }
        needed = (references(properties) | created) & set(active)
        needed.discard(lid)
        depends[lid] = needed
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(active):
        ready = [lid for lid in active if lid not in done and depends[lid] <= done]
        if not ready:
            stuck = sorted((lid for lid in active if lid not in done), key=position.__getitem__)
            raise ProvisionError(f"circular dependency between {', '.join(stuck)}")
        first = min(ready, key=position.__getitem__)
        order.append(first)
        done.add(first)
    return order


class _Provisioner:
    def __init__(
        self,
        template: Template,
        runtime: MotoRuntime,
        *,
        stack_name: str,
        parameters: Mapping[str, Any] | None,
        project_root: Path,
    ) -> None:
        self.sam_template = template
        self.template = template.to_cloudformation(parameters, region=runtime.region)
        self.runtime = runtime
        self.stack_name = stack_name
        self.project_root = project_root
        self.table: dict[str, ResourceValues] = {}
        self.ctx: ResolveContext = template.context(
            stack_name, parameters, self.table, region=runtime.region, account_id=ACCOUNT_ID
        )
        self.result = Provisioned(stack_name=stack_name, parameters=dict(self.ctx.parameters))
        self.region = runtime.region
        self.cfn_notifications: list[tuple[str, dict[str, Any]]] = []
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.runtime.client(service)
        return self._clients[service]

    def resolve(self, value: Any, where: str) -> Any:
        try:
            return resolve(value, self.ctx)
        except CfnError as exc:
            raise ProvisionError(f"{where}: {exc}") from exc

    def props(self, logical_id: str, *names: str) -> dict[str, Any]:
        """The named properties of a resource, resolved; absent ones left out."""
        raw = self.template.properties(logical_id)
        return {
            name: self.resolve(raw[name], f"{logical_id}.{name}")
            for name in names
            if name in raw and raw[name] is not None
        }

    def record(
        self,
        logical_id: str,
        ref: Any,
        attributes: Mapping[str, Any],
        *,
        created: bool,
        note: str = "",
        rtype: str | None = None,
    ) -> None:
        if rtype is None:
            rtype = self.template.resources[logical_id].type
        resource = ProvisionedResource(logical_id, rtype, ref, dict(attributes), created, note)
        self.result.resources[logical_id] = resource
        self.table[logical_id] = resource.values

    # driver

    def run(self) -> Provisioned:
        active = [
            lid
            for lid in self.template.resources
            if self.template.is_active(lid, self.ctx)  # conditions only see parameters
        ]
        for lid in _creation_order(self.template, active):
            self.create(lid)
        self.apply_bucket_notifications()
        self.result.routes = [r for r in self.sam_template.routes if r.function in self.result.functions]
        for name, output in self.template.outputs.items():
            if "Condition" in output and not self.ctx.condition(output["Condition"]):
                continue
            try:
                self.result.outputs[name] = resolve(output.get("Value"), self.ctx)
            except CfnError as exc:
                LOG.debug("output %s not resolved locally: %s", name, exc)
        return self.result

    def create(self, logical_id: str) -> None:
        rtype = self.template.resources[logical_id].type
        if rtype in _CREATORS:
            getattr(self, _CREATORS[rtype])(logical_id)
            return
        if rtype in SKIPPED_TYPES or rtype.startswith(_SKIPPED_PREFIXES):
            LOG.debug("%s (%s) has no local meaning: not provisioned", logical_id, rtype)
            note = "no local meaning"
        else:
            LOG.warning("%s (%s) is not supported by the local stack: not provisioned", logical_id, rtype)
            note = "not supported locally"
        ref, attributes = self.synthetic(logical_id, rtype)
        self.record(logical_id, ref, attributes, created=False, note=note)

    def synthetic(self, logical_id: str, rtype: str) -> tuple[Any, dict[str, Any]]:
        """Ref / GetAtt values of a resource that is not created locally."""
        region, account = self.region, ACCOUNT_ID
        name_property = {
            "AWS::Logs::LogGroup": "LogGroupName",
            "AWS::Lambda::LayerVersion": "LayerName",
            "AWS::IAM::Role": "RoleName",
            "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
            "AWS::IAM::Policy": "PolicyName",
        }.get(rtype)
        name = _physical_name(self.stack_name, logical_id)
        if name_property:
            try:
                name = str(self.props(logical_id, name_property).get(name_property, name))
            except ProvisionError as exc:
                LOG.debug("%s: %s", logical_id, exc)
        if rtype == "AWS::Logs::LogGroup":
            return name, {"Arn": f"arn:aws:logs:{region}:{account}:log-group:{name}:*"}
        if rtype == "AWS::Lambda::LayerVersion":
            arn = f"arn:aws:lambda:{region}:{account}:layer:{name}:1"
            return arn, {"Arn": arn, "LayerVersionArn": arn}
        if rtype.startswith(("AWS::ApiGateway::", "AWS::ApiGatewayV2::")):
            api_id = hashlib.sha256(f"{self.stack_name}/{logical_id}".encode()).hexdigest()[:10]
            endpoint = f"https://{api_id}.execute-api.{region}.amazonaws.com"
            return api_id, {"ApiEndpoint": endpoint, "ApiId": api_id, "RootResourceId": api_id[:6]}
        service = rtype.split("::")[1].lower() if rtype.count("::") >= 2 else "unknown"
        return name, {"Arn": f"arn:aws:{service}:{region}:{account}:{name}"}

    # DynamoDB

    def dynamodb_table(self, logical_id: str) -> None:
        p = self.props(
            logical_id,
            "TableName",
            "AttributeDefinitions",
            "KeySchema",
            "GlobalSecondaryIndexes",
            "LocalSecondaryIndexes",
            "BillingMode",
            "ProvisionedThroughput",
            "StreamSpecification",
            "TimeToLiveSpecification",
            "SSESpecification",
            "PointInTimeRecoverySpecification",
        )
        name = str(p.get("TableName") or _physical_name(self.stack_name, logical_id, 255))
        billing = str(p.get("BillingMode", "PROVISIONED"))
        throughput = p.get("ProvisionedThroughput") or {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        args: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": p["AttributeDefinitions"],
            "KeySchema": p["KeySchema"],
            "BillingMode": billing,
        }
        if billing == "PROVISIONED":
            args["ProvisionedThroughput"] = throughput
        if p.get("GlobalSecondaryIndexes"):
            indexes = []
            for index in p["GlobalSecondaryIndexes"]:
                spec = {k: index[k] for k in ("IndexName", "KeySchema", "Projection") if k in index}
                if billing == "PROVISIONED":
                    spec["ProvisionedThroughput"] = index.get("ProvisionedThroughput") or throughput
                indexes.append(spec)
            args["GlobalSecondaryIndexes"] = indexes
        if p.get("LocalSecondaryIndexes"):
            args["LocalSecondaryIndexes"] = [
                {k: index[k] for k in ("IndexName", "KeySchema", "Projection") if k in index}
                for index in p["LocalSecondaryIndexes"]
            ]
        stream = p.get("StreamSpecification")
        if stream and stream.get("StreamViewType"):
            args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
        sse = p.get("SSESpecification")
        if sse and sse.get("SSEEnabled"):
            args["SSESpecification"] = {"Enabled": True}
        ddb = self.client("dynamodb")
        table = ddb.create_table(**args)["TableDescription"]
        ttl = p.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled") in (True, "true", "True") and ttl.get("AttributeName"):
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        pitr = p.get("PointInTimeRecoverySpecification")
        if pitr and pitr.get("PointInTimeRecoveryEnabled") in (True, "true", "True"):
            ddb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        attributes = {"Arn": table["TableArn"]}
        if table.get("LatestStreamArn"):
            attributes["StreamArn"] = table["LatestStreamArn"]
        self.record(logical_id, name, attributes, created=True)
        self.result.tables[logical_id] = name

    # S3

    def s3_bucket(self, logical_id: str) -> None:
        p = self.props(logical_id, "BucketName", "VersioningConfiguration", "CorsConfiguration")
        name = str(p.get("BucketName") or _bucket_name(self.stack_name, logical_id))
        s3 = self.client("s3")
        if self.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        versioning = p.get("VersioningConfiguration")
        if versioning and versioning.get("Status"):
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning["Status"]})
        cors = p.get("CorsConfiguration")
        if cors and cors.get("CorsRules"):
            rules = []
            for rule in cors["CorsRules"]:
                converted = {
                    k: rule[k]
                    for k in ("AllowedHeaders", "AllowedMethods", "AllowedOrigins", "ExposedHeaders", "ID")
                    if k in rule
                }
                if "Id" in rule:
                    converted["ID"] = rule["Id"]
                if "MaxAge" in rule:
                    converted["MaxAgeSeconds"] = int(rule["MaxAge"])
                rules.append(converted)
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
        attributes = {
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{self.region}.amazonaws.com",
            "DualStackDomainName": f"{name}.s3.dualstack.{self.region}.amazonaws.com",
            "WebsiteURL": f"http://{name}.s3-website-{self.region}.amazonaws.com",
        }
        self.record(logical_id, name, attributes, created=True)
        self.result.buckets[logical_id] = name
        config = self.template.properties(logical_id).get("NotificationConfiguration")
        if config:
            self.cfn_notifications.append((logical_id, dict(config)))

    @staticmethod
    def _s3_filter(cfn_filter: Any) -> dict[str, Any]:
        rules = ((cfn_filter or {}).get("S3Key") or {}).get("Rules") or []
        if not rules:
            return {}
        return {"Filter": {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}}}

    def apply_bucket_notifications(self) -> None:
        kinds = {
            "LambdaConfigurations": ("LambdaFunctionConfigurations", "Function", "LambdaFunctionArn"),
            "QueueConfigurations": ("QueueConfigurations", "Queue", "QueueArn"),
            "TopicConfigurations": ("TopicConfigurations", "Topic", "TopicArn"),
        }
        for logical_id, config in self.cfn_notifications:
            resolved = self.resolve(config, f"{logical_id}.NotificationConfiguration")
            api_config: dict[str, Any] = {}
            for cfn_key, (api_key, target_key, api_target) in kinds.items():
                for entry in resolved.get(cfn_key) or []:
                    spec = {api_target: entry[target_key], "Events": [entry["Event"]]}
                    spec.update(self._s3_filter(entry.get("Filter")))
                    api_config.setdefault(api_key, []).append(spec)
            if (resolved.get("EventBridgeConfiguration") or {}).get("EventBridgeEnabled"):
                api_config["EventBridgeConfiguration"] = {}
            if api_config:
                self.client("s3").put_bucket_notification_configuration(
                    Bucket=self.result.buckets[logical_id], NotificationConfiguration=api_config
                )

    # SQS, EventBridge, Secrets Manager, SSM

    def sqs_queue(self, logical_id: str) -> None:
        names = (
            "DelaySeconds",
            "MaximumMessageSize",
            "MessageRetentionPeriod",
            "ReceiveMessageWaitTimeSeconds",
            "VisibilityTimeout",
            "FifoQueue",
            "ContentBasedDeduplication",
            "DeduplicationScope",
            "FifoThroughputLimit",
            "RedrivePolicy",
            "RedriveAllowPolicy",
            "SqsManagedSseEnabled",
        )
        p = self.props(logical_id, "QueueName", *names)
        fifo = str(p.get("FifoQueue", "false")).lower() == "true"
        name = str(p.get("QueueName") or _physical_name(self.stack_name, logical_id, 75 if fifo else 80))
        if fifo and not name.endswith(".fifo"):
            name += ".fifo"
        attributes = {
            key: json.dumps(value) if isinstance(value, dict) else _text(value, f"{logical_id}.{key}")
            for key, value in p.items()
            if key in names
        }
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.record(logical_id, url, {"Arn": arn, "QueueName": name, "QueueUrl": url}, created=True)
        self.result.queues[logical_id] = url

    def event_bus(self, logical_id: str) -> None:
        p = self.props(logical_id, "Name")
        name = str(p.get("Name") or _physical_name(self.stack_name, logical_id, 256))
        arn = self.client("events").create_event_bus(Name=name)["EventBusArn"]
        self.record(logical_id, name, {"Arn": arn, "Name": name}, created=True)
        self.result.event_buses[logical_id] = name

    def event_rule(self, logical_id: str) -> None:
        p = self.props(
            logical_id,
            "Name",
            "EventBusName",
            "EventPattern",
            "ScheduleExpression",
            "State",
            "Description",
            "Targets",
        )
        name = str(p.get("Name") or _physical_name(self.stack_name, logical_id))
        args: dict[str, Any] = {"Name": name, "State": p.get("State", "ENABLED")}
        if "EventPattern" in p:
            pattern = p["EventPattern"]
            args["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
        for key in ("ScheduleExpression", "Description", "EventBusName"):
            if key in p:
                args[key] = p[key]
        events = self.client("events")
        arn = events.put_rule(**args)["RuleArn"]
        targets = []
        for target in p.get("Targets") or []:
            if ":sqs:" not in str(target.get("Arn", "")):
                LOG.warning(
                    "%s: target %s is not an SQS queue: moto delivers rules to SQS only; skipped",
                    logical_id,
                    target.get("Id"),
                )
                continue
            keep = ("Id", "Arn", "Input", "InputPath", "InputTransformer", "SqsParameters")
            targets.append({k: target[k] for k in keep if k in target})
        if targets:
            bus = {"EventBusName": args["EventBusName"]} if "EventBusName" in args else {}
            events.put_targets(Rule=name, Targets=targets, **bus)
        self.record(logical_id, name, {"Arn": arn}, created=True)

    def secret(self, logical_id: str) -> None:
        p = self.props(logical_id, "Name", "Description", "SecretString", "GenerateSecretString", "KmsKeyId")
        name = str(p.get("Name") or _physical_name(self.stack_name, logical_id, 512))
        value = p.get("SecretString")
        if value is None:
            value = self.generate_secret(p.get("GenerateSecretString") or {})
        args: dict[str, Any] = {"Name": name, "SecretString": _text(value, f"{logical_id}.SecretString")}
        if "Description" in p:
            args["Description"] = p["Description"]
        arn = self.client("secretsmanager").create_secret(**args)["ARN"]
        self.record(logical_id, arn, {"Id": arn, "Arn": arn}, created=True)
        self.result.secrets[logical_id] = arn

    def generate_secret(self, spec: Mapping[str, Any]) -> str:
        """``GenerateSecretString``: the password comes from Secrets Manager's GetRandomPassword."""
        options: dict[str, Any] = {}
        if "PasswordLength" in spec:
            options["PasswordLength"] = int(spec["PasswordLength"])
        if "ExcludeCharacters" in spec:
            options["ExcludeCharacters"] = str(spec["ExcludeCharacters"])
        for flag in _PASSWORD_FLAGS:
            if flag in spec:
                options[flag] = str(spec[flag]).lower() == "true"
        password: str = self.client("secretsmanager").get_random_password(**options)["RandomPassword"]
        document, generated_key = spec.get("SecretStringTemplate"), spec.get("GenerateStringKey")
        if not document or not generated_key:
            return password
        return json.dumps({**json.loads(str(document)), str(generated_key): password})

    def ssm_parameter(self, logical_id: str) -> None:
        p = self.props(logical_id, "Name", "Type", "Value", "Description")
        name = str(p.get("Name") or f"/{self.stack_name}/{logical_id}")
        value = p["Value"]
        if isinstance(value, list):
            value = ",".join(_text(v, f"{logical_id}.Value") for v in value)
        ptype = str(p.get("Type", "String"))
        self.client("ssm").put_parameter(Name=name, Type=ptype, Value=_text(value, f"{logical_id}.Value"))
        self.record(logical_id, name, {"Type": ptype, "Value": value}, created=True)

    # IAM (roles exist because Lambda wants one; their policies are not enforced by moto)

    def iam_role(self, logical_id: str) -> None:
        p = self.props(logical_id, "RoleName", "AssumeRolePolicyDocument", "Path")
        name = str(p.get("RoleName") or _physical_name(self.stack_name, logical_id, 64))
        trust = p.get("AssumeRolePolicyDocument") or {}
        role = self.client("iam").create_role(
            RoleName=name,
            AssumeRolePolicyDocument=trust if isinstance(trust, str) else json.dumps(trust),
            Path=str(p.get("Path", "/")),
        )["Role"]
        self.record(logical_id, name, {"Arn": role["Arn"], "RoleId": role["RoleId"]}, created=True)

    # Lambda

    def local_artifact(self, location: Any, where: str) -> Path:
        """The local folder or file behind a translated CodeUri / ContentUri / DefinitionUri."""
        bucket, key = (
            (location.get(k) for k in ("S3Bucket", "S3Key")) if isinstance(location, dict) else (None, None)
        )
        if isinstance(location, dict) and bucket is None:
            bucket, key = location.get("Bucket"), location.get("Key")
        if bucket != LOCAL_ARTIFACTS or not isinstance(key, str):
            raise ProvisionError(f"{where}: only local folders and files run locally, got {location!r}")
        return (self.project_root / key).resolve()

    def function(self, logical_id: str) -> None:
        p = self.props(
            logical_id,
            "FunctionName",
            "Handler",
            "Runtime",
            "Code",
            "PackageType",
            "Timeout",
            "MemorySize",
            "Environment",
            "Description",
            "Architectures",
            "Role",
        )
        runtime_name = str(p.get("Runtime", ""))
        if p.get("PackageType") == "Image" or not runtime_name.startswith("python"):
            raise ProvisionError(f"{logical_id}: only zip functions of a Python runtime run in-process")
        if "Handler" not in p or "Role" not in p:
            raise ProvisionError(f"{logical_id}: Handler and Role are needed to run a function locally")
        code_dir = self.local_artifact(p.get("Code"), f"{logical_id}.Code")
        if not code_dir.is_dir():
            raise ProvisionError(
                f"{logical_id}: CodeUri {code_dir} is not a folder under {self.project_root}"
            )
        handler_spec = str(p["Handler"])
        name = str(p.get("FunctionName") or _physical_name(self.stack_name, logical_id))
        timeout = int(p.get("Timeout", 3))
        memory = int(p.get("MemorySize", 128))
        variables = (p.get("Environment") or {}).get("Variables") or {}
        environment = {
            str(k): _text(v, f"{logical_id}.Environment.Variables.{k}") for k, v in variables.items()
        }
        role_arn = str(p["Role"])
        args: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": runtime_name,
            "Role": role_arn,
            "Handler": handler_spec,
            "Code": {"ZipFile": _placeholder_zip(handler_spec)},
            "Timeout": timeout,
            "MemorySize": memory,
            "Environment": {"Variables": environment},
        }
        if "Description" in p:
            args["Description"] = str(p["Description"])
        if p.get("Architectures"):
            args["Architectures"] = list(p["Architectures"])[:1]
        arn: str = self.client("lambda").create_function(**args)["FunctionArn"]
        layer_dirs = self.layer_dirs(logical_id)
        self.record(logical_id, name, {"Arn": arn}, created=True)
        self.result.functions[logical_id] = ProvisionedFunction(
            logical_id=logical_id,
            name=name,
            arn=arn,
            handler=handler_spec,
            code_dir=code_dir,
            layer_dirs=layer_dirs,
            environment=environment,
            timeout=timeout,
            memory_size=memory,
            role_arn=role_arn,
            runtime=runtime_name,
        )
        self.result.handlers[logical_id] = ModuleHandler(
            logical_id=logical_id, code_dir=code_dir, handler=handler_spec, layer_dirs=layer_dirs
        )

    def layer_dirs(self, logical_id: str) -> tuple[Path, ...]:
        """Content folders of the template's layers the function uses (others are ignored)."""
        dirs: list[Path] = []
        for layer in self.template.properties(logical_id).get("Layers") or []:
            target = layer.get("Ref") if isinstance(layer, dict) else None
            resource = self.template.resources.get(str(target)) if target else None
            if resource is None or resource.type != "AWS::Lambda::LayerVersion":
                LOG.debug("%s: layer %r is not a layer of this template: ignored", logical_id, layer)
                continue
            folder = self.local_artifact(resource.properties.get("Content"), f"{target}.Content")
            # a layer built by SAM puts Python code under python/; sources may be either way
            dirs.append(folder / "python" if (folder / "python").is_dir() else folder)
        return tuple(dirs)

    def event_source_mapping(self, logical_id: str) -> None:
        p = self.props(
            logical_id,
            "EventSourceArn",
            "FunctionName",
            "BatchSize",
            "Enabled",
            "StartingPosition",
            "MaximumBatchingWindowInSeconds",
        )
        args: dict[str, Any] = {"EventSourceArn": p["EventSourceArn"], "FunctionName": p["FunctionName"]}
        if "BatchSize" in p:
            args["BatchSize"] = int(p["BatchSize"])
        if "Enabled" in p:
            args["Enabled"] = str(p["Enabled"]).lower() == "true"
        if "StartingPosition" in p:
            args["StartingPosition"] = str(p["StartingPosition"])
        if "MaximumBatchingWindowInSeconds" in p:
            args["MaximumBatchingWindowInSeconds"] = int(p["MaximumBatchingWindowInSeconds"])
        mapping = self.client("lambda").create_event_source_mapping(**args)
        self.record(
            logical_id,
            mapping["UUID"],
            {"EventSourceMappingArn": mapping.get("EventSourceMappingArn", "")},
            created=True,
        )

    # Step Functions

    def state_machine(self, logical_id: str) -> None:
        p = self.props(
            logical_id,
            "StateMachineName",
            "StateMachineType",
            "RoleArn",
            "Definition",
            "DefinitionString",
            "DefinitionSubstitutions",
            "DefinitionS3Location",
        )
        if "RoleArn" not in p:
            raise ProvisionError(f"{logical_id}: a state machine needs a RoleArn")
        name = str(p.get("StateMachineName") or _physical_name(self.stack_name, logical_id, 80))
        args: dict[str, Any] = {
            "name": name,
            "definition": self.definition(logical_id, p),
            "roleArn": p["RoleArn"],
        }
        if p.get("StateMachineType"):
            args["type"] = str(p["StateMachineType"])
        arn: str = self.client("stepfunctions").create_state_machine(**args)["stateMachineArn"]
        self.record(logical_id, arn, {"Arn": arn, "Name": name}, created=True)
        self.result.state_machines[logical_id] = arn

    def definition(self, logical_id: str, p: Mapping[str, Any]) -> str:
        if "DefinitionS3Location" in p:
            file = self.local_artifact(p["DefinitionS3Location"], f"{logical_id}.DefinitionS3Location")
            if not file.is_file():
                raise ProvisionError(
                    f"{logical_id}: DefinitionUri {file} is not a file under {self.project_root}"
                )
            text = file.read_text(encoding="utf-8")
            if file.suffix in (".yaml", ".yml"):
                text = json.dumps(yaml.safe_load(text))
            where = str(file.relative_to(self.project_root.resolve()))
        elif "Definition" in p:
            text, where = json.dumps(p["Definition"]), f"{logical_id}.Definition"
        elif "DefinitionString" in p:
            text, where = str(p["DefinitionString"]), f"{logical_id}.DefinitionString"
        else:
            raise ProvisionError(f"{logical_id}: no state machine definition")
        substitutions = {
            str(k): _text(v, f"{logical_id}.DefinitionSubstitutions.{k}")
            for k, v in (p.get("DefinitionSubstitutions") or {}).items()
        }

        def substitute(match: re.Match[str]) -> str:
            key = match.group(1)
            return substitutions.get(key, match.group(0))

        text = re.sub(r"\$\{([^}]+)\}", substitute, text)
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProvisionError(
                f"{logical_id}: {where} is not valid JSON after substitutions: {exc}"
            ) from exc
        return text


def _placeholder_zip(handler: str) -> bytes:
    module = handler.rpartition(".")[0].replace(".", "/")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{module}.py", "# the local stack runs this function in-process\n")
    return buffer.getvalue()
