"""Read a SAM / CloudFormation template and evaluate its intrinsic functions locally.

``load_template_text`` parses YAML (or JSON) with :class:`CfnLoader`, a ``yaml.SafeLoader`` that
turns every CloudFormation short tag into its long form (``!Ref X`` -> ``{"Ref": "X"}``,
``!GetAtt A.B`` -> ``{"Fn::GetAtt": ["A", "B"]}``, ...). :func:`resolve` evaluates intrinsics
against a :class:`ResolveContext` (parameters, pseudo parameters, conditions, mappings and a table
of provisioned resources). :class:`Template` gives the resources by type, the parameters, the
function properties with SAM ``Globals`` merged in, and the HTTP API routes declared by the
functions' ``HttpApi`` events.

What SAM itself defines is left to SAM's own translator (``samtranslator``, the library behind
``sam validate`` and the CloudFormation transform): :meth:`Template.to_cloudformation` turns the
template into plain CloudFormation (functions with their roles, event source mappings and bucket
notifications, state machines, layers, HTTP APIs), and :meth:`Template.properties` merges
``Globals`` with its ``Globals`` plugin. The YAML loader stays ours: samtranslator's
``yaml_parse`` registers its tag constructor on PyYAML's global ``SafeLoader`` and reads
``2010-09-09`` as a date. So does the resolver: the SAM CLI's own (``samcli.lib.intrinsic_resolver``,
behind ``sam local``) is internal to the CLI, has no ``Fn::ToJsonString`` / ``Fn::Length`` /
``Fn::Cidr``, turns ``AWS::NoValue`` into ``None`` instead of removing the key, and answers
made-up values where this one names what it cannot resolve.
"""

from __future__ import annotations

import base64
import copy
import functools
import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import boto3
import yaml
from samtranslator.parser.parser import Parser
from samtranslator.plugins.globals.globals import Globals
from samtranslator.public.exceptions import InvalidDocumentException
from samtranslator.translator.translator import Translator

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_REGION",
    "LOCAL_ARTIFACTS",
    "NO_VALUE",
    "CfnError",
    "CfnLoader",
    "HttpRoute",
    "ResolveContext",
    "Resource",
    "ResourceValues",
    "Template",
    "load_template_text",
    "references",
    "resolve",
]

DEFAULT_REGION: Final = "us-east-1"
DEFAULT_ACCOUNT_ID: Final = "123456789012"

#: samtranslator takes only S3 locations for code, layer content and definitions: a local path P
#: is handed to it as ``s3://local-artifacts/P``, so the translated template names the local
#: folder or file as the key in this (never created) bucket.
LOCAL_ARTIFACTS: Final = "local-artifacts"

#: SAM properties that name a local folder or file (the values are S3 URIs once packaged).
_LOCAL_PATHS: Final = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
    "AWS::Serverless::Api": "DefinitionUri",
    "AWS::Serverless::HttpApi": "DefinitionUri",
}


class CfnError(Exception):
    """The template is malformed or an intrinsic function cannot be evaluated locally."""


class _NoValue:
    """``{"Ref": "AWS::NoValue"}``: removes the property (or list element) it stands for."""

    _instance: _NoValue | None = None

    def __new__(cls) -> _NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Final = _NoValue()


# --- YAML ----------------------------------------------------------------------------------------


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that knows CloudFormation's short tags and keeps dates as strings.

    CloudFormation reads ``2010-09-09`` as a string, so the YAML timestamp resolver is dropped.
    """


CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_node(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise CfnError(f"unsupported YAML node {node!r}")  # pragma: no cover


def _long_form(name: str) -> Callable[[yaml.SafeLoader, yaml.Node], Any]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        return {name: _construct_node(loader, node)}

    return construct


def _construct_getatt(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    value = _construct_node(loader, node)
    if isinstance(value, str):
        logical_id, sep, attribute = value.partition(".")
        if not sep or not logical_id or not attribute:
            raise CfnError(f"!GetAtt {value!r} is not of the form LogicalId.Attribute")
        return {"Fn::GetAtt": [logical_id, attribute]}
    return {"Fn::GetAtt": value}


_SHORT_TAGS: Final = {
    "Ref": "Ref",
    "Condition": "Condition",
    "Sub": "Fn::Sub",
    "Join": "Fn::Join",
    "If": "Fn::If",
    "Equals": "Fn::Equals",
    "Not": "Fn::Not",
    "And": "Fn::And",
    "Or": "Fn::Or",
    "Select": "Fn::Select",
    "Split": "Fn::Split",
    "FindInMap": "Fn::FindInMap",
    "GetAZs": "Fn::GetAZs",
    "ImportValue": "Fn::ImportValue",
    "Base64": "Fn::Base64",
    "Cidr": "Fn::Cidr",
    "Length": "Fn::Length",
    "ToJsonString": "Fn::ToJsonString",
}

for _tag, _name in _SHORT_TAGS.items():
    CfnLoader.add_constructor(f"!{_tag}", _long_form(_name))
CfnLoader.add_constructor("!GetAtt", _construct_getatt)


def load_template_text(text: str) -> dict[str, Any]:
    """Parse a template body (YAML or JSON) into plain dicts with long-form intrinsics."""
    body = yaml.load(text, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader
    if not isinstance(body, dict):
        raise CfnError("a template must be a mapping at its top level")
    return body


# --- resolution ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceValues:
    """What ``Ref`` and ``Fn::GetAtt`` return for one resource."""

    ref: Any
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class ResolveContext:
    """Everything intrinsic functions may refer to.

    ``parameters`` holds the effective parameter values (defaults already applied), ``resources``
    maps logical ids to their ``Ref`` / ``GetAtt`` values, ``conditions`` the template's
    ``Conditions`` section (evaluated lazily, memoised in ``condition_values``).
    """

    stack_name: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    resources: Mapping[str, ResourceValues] = field(default_factory=dict)
    conditions: Mapping[str, Any] = field(default_factory=dict)
    mappings: Mapping[str, Any] = field(default_factory=dict)
    imports: Mapping[str, Any] = field(default_factory=dict)
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"
    condition_values: dict[str, bool] = field(default_factory=dict)
    _evaluating: set[str] = field(default_factory=set, init=False, repr=False)

    @property
    def stack_id(self) -> str:
        return (
            f"arn:{self.partition}:cloudformation:{self.region}:{self.account_id}:"
            f"stack/{self.stack_name}/00000000-0000-0000-0000-000000000000"
        )

    def pseudo(self, name: str) -> Any:
        values: dict[str, Any] = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": self.url_suffix,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.stack_id,
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        if name not in values:
            raise CfnError(f"unknown pseudo parameter {name}")
        return values[name]

    def condition(self, name: str) -> bool:
        if name in self.condition_values:
            return self.condition_values[name]
        if name not in self.conditions:
            raise CfnError(f"unknown condition {name!r}")
        if name in self._evaluating:
            raise CfnError(f"condition {name!r} refers to itself")
        self._evaluating.add(name)
        try:
            value = resolve(self.conditions[name], self)
        finally:
            self._evaluating.discard(name)
        if not isinstance(value, bool):
            raise CfnError(f"condition {name!r} is not a boolean: {value!r}")
        self.condition_values[name] = value
        return value

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.resources[name].ref
        raise CfnError(f"Ref {name!r}: no such parameter or (provisioned) resource")

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if logical_id not in self.resources:
            raise CfnError(f"Fn::GetAtt {logical_id}.{attribute}: no such (provisioned) resource")
        attributes = self.resources[logical_id].attributes
        if attribute not in attributes:
            known = ", ".join(sorted(attributes)) or "none"
            raise CfnError(f"Fn::GetAtt {logical_id}.{attribute}: unknown attribute (known: {known})")
        return attributes[attribute]


_SUB_PATTERN: Final = re.compile(r"\$\{([^}]*)\}")


def _sub(template: str, variables: Mapping[str, Any], ctx: ResolveContext) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        name = name.strip()
        if name in variables:
            value = variables[name]
        elif "." in name and not name.startswith("AWS::"):
            logical_id, _, attribute = name.partition(".")
            value = ctx.get_att(logical_id, attribute)
        else:
            value = ctx.ref(name)
        return _scalar_text(value, f"Fn::Sub ${{{name}}}")

    return _SUB_PATTERN.sub(replace, template)


def _scalar_text(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise CfnError(f"{where}: expected a string, got {value!r}")


def _expect_list(value: Any, function: str, length: int | None = None) -> list[Any]:
    if not isinstance(value, list) or (length is not None and len(value) != length):
        shape = f"a list of {length}" if length is not None else "a list"
        raise CfnError(f"{function} takes {shape}, got {value!r}")
    return value


def _cidr(block: str, count: int, bits: int) -> list[str]:
    network = ipaddress.ip_network(block, strict=False)
    prefix = network.max_prefixlen - bits
    if prefix < network.prefixlen:
        raise CfnError(f"Fn::Cidr: {bits} host bits do not fit in {block}")
    subnets: list[str] = []
    for subnet in network.subnets(new_prefix=prefix):
        if len(subnets) == count:
            break
        subnets.append(str(subnet))
    if len(subnets) < count:
        raise CfnError(f"Fn::Cidr: {block} holds fewer than {count} subnets of {bits} host bits")
    return subnets


def _find_in_map(args: list[Any], ctx: ResolveContext) -> Any:
    if len(args) not in (3, 4):
        raise CfnError(f"Fn::FindInMap takes 3 arguments (or 4 with DefaultValue), got {args!r}")
    map_name, top, second = (resolve(a, ctx) for a in args[:3])
    try:
        return ctx.mappings[map_name][top][second]
    except (KeyError, TypeError):
        if len(args) == 4 and isinstance(args[3], dict) and "DefaultValue" in args[3]:
            return resolve(args[3]["DefaultValue"], ctx)
        raise CfnError(f"Fn::FindInMap: no {map_name}.{top}.{second}") from None


def _condition_arg(value: Any, ctx: ResolveContext) -> bool:
    result = resolve(value, ctx)
    if not isinstance(result, bool):
        raise CfnError(f"expected a condition, got {result!r}")
    return result


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str | int | float | bool) and isinstance(b, str | int | float | bool):
        return _scalar_text(a, "Fn::Equals") == _scalar_text(b, "Fn::Equals")
    return bool(a == b)


def _fn_ref(arg: Any, ctx: ResolveContext) -> Any:
    if not isinstance(arg, str):
        raise CfnError(f"Ref takes a name, got {arg!r}")
    return ctx.ref(arg)


def _fn_condition(arg: Any, ctx: ResolveContext) -> Any:
    return ctx.condition(arg)


def _fn_getatt(arg: Any, ctx: ResolveContext) -> Any:
    if isinstance(arg, str):
        logical_id, _, attribute = arg.partition(".")
        args: list[Any] = [logical_id, attribute]
    else:
        args = _expect_list(arg, "Fn::GetAtt", 2)
    return ctx.get_att(str(resolve(args[0], ctx)), str(resolve(args[1], ctx)))


def _fn_sub(arg: Any, ctx: ResolveContext) -> Any:
    if isinstance(arg, str):
        return _sub(arg, {}, ctx)
    text, variables = _expect_list(arg, "Fn::Sub", 2)
    resolved_vars = resolve(variables, ctx)
    if not isinstance(text, str) or not isinstance(resolved_vars, dict):
        raise CfnError(f"Fn::Sub takes [string, {{variables}}], got {arg!r}")
    return _sub(text, resolved_vars, ctx)


def _fn_join(arg: Any, ctx: ResolveContext) -> Any:
    delimiter, items = _expect_list(arg, "Fn::Join", 2)
    values = resolve(items, ctx)
    if not isinstance(values, list):
        raise CfnError(f"Fn::Join needs a list, got {values!r}")
    return str(delimiter).join(_scalar_text(v, "Fn::Join") for v in values)


def _fn_if(arg: Any, ctx: ResolveContext) -> Any:
    condition, if_true, if_false = _expect_list(arg, "Fn::If", 3)
    return resolve(if_true if ctx.condition(condition) else if_false, ctx)


def _fn_equals(arg: Any, ctx: ResolveContext) -> Any:
    a, b = _expect_list(arg, "Fn::Equals", 2)
    return _equal(resolve(a, ctx), resolve(b, ctx))


def _fn_not(arg: Any, ctx: ResolveContext) -> Any:
    (value,) = _expect_list(arg, "Fn::Not", 1)
    return not _condition_arg(value, ctx)


def _fn_and(arg: Any, ctx: ResolveContext) -> Any:
    return all(_condition_arg(v, ctx) for v in _expect_list(arg, "Fn::And"))


def _fn_or(arg: Any, ctx: ResolveContext) -> Any:
    return any(_condition_arg(v, ctx) for v in _expect_list(arg, "Fn::Or"))


def _fn_select(arg: Any, ctx: ResolveContext) -> Any:
    index, items = _expect_list(arg, "Fn::Select", 2)
    values = resolve(items, ctx)
    position = int(resolve(index, ctx))
    if not isinstance(values, list) or not 0 <= position < len(values):
        raise CfnError(f"Fn::Select: index {position} out of range of {values!r}")
    return values[position]


def _fn_split(arg: Any, ctx: ResolveContext) -> Any:
    delimiter, source = _expect_list(arg, "Fn::Split", 2)
    return _scalar_text(resolve(source, ctx), "Fn::Split").split(str(delimiter))


def _fn_find_in_map(arg: Any, ctx: ResolveContext) -> Any:
    return _find_in_map(_expect_list(arg, "Fn::FindInMap"), ctx)


def _fn_get_azs(arg: Any, ctx: ResolveContext) -> Any:
    region = resolve(arg, ctx) or ctx.region
    return [f"{region}{zone}" for zone in "abc"]


def _fn_import_value(arg: Any, ctx: ResolveContext) -> Any:
    export = resolve(arg, ctx)
    if export not in ctx.imports:
        raise CfnError(f"Fn::ImportValue {export!r}: no such export known locally")
    return ctx.imports[export]


def _fn_base64(arg: Any, ctx: ResolveContext) -> Any:
    return base64.b64encode(_scalar_text(resolve(arg, ctx), "Fn::Base64").encode()).decode()


def _fn_cidr(arg: Any, ctx: ResolveContext) -> Any:
    block, count, bits = (resolve(v, ctx) for v in _expect_list(arg, "Fn::Cidr", 3))
    return _cidr(str(block), int(count), int(bits))


def _fn_length(arg: Any, ctx: ResolveContext) -> Any:
    return len(_expect_list(resolve(arg, ctx), "Fn::Length"))


def _fn_to_json_string(arg: Any, ctx: ResolveContext) -> Any:
    return json.dumps(resolve(arg, ctx), separators=(",", ":"))


_FUNCTIONS: Final[Mapping[str, Callable[[Any, ResolveContext], Any]]] = {
    "Ref": _fn_ref,
    "Condition": _fn_condition,
    "Fn::GetAtt": _fn_getatt,
    "Fn::Sub": _fn_sub,
    "Fn::Join": _fn_join,
    "Fn::If": _fn_if,
    "Fn::Equals": _fn_equals,
    "Fn::Not": _fn_not,
    "Fn::And": _fn_and,
    "Fn::Or": _fn_or,
    "Fn::Select": _fn_select,
    "Fn::Split": _fn_split,
    "Fn::FindInMap": _fn_find_in_map,
    "Fn::GetAZs": _fn_get_azs,
    "Fn::ImportValue": _fn_import_value,
    "Fn::Base64": _fn_base64,
    "Fn::Cidr": _fn_cidr,
    "Fn::Length": _fn_length,
    "Fn::ToJsonString": _fn_to_json_string,
}


def _intrinsic_name(value: Mapping[str, Any]) -> str | None:
    if len(value) != 1:
        return None
    (key,) = value
    if key not in _FUNCTIONS:
        return None
    if key == "Condition" and not isinstance(value[key], str):
        return None  # e.g. an IAM statement's Condition block
    return str(key)


def resolve(value: Any, ctx: ResolveContext) -> Any:
    """Evaluate every intrinsic function in ``value`` (recursively); ``AWS::NoValue`` drops keys."""
    if isinstance(value, dict):
        name = _intrinsic_name(value)
        if name is not None:
            return _FUNCTIONS[name](value[name], ctx)
        resolved: dict[str, Any] = {}
        for key, item in value.items():
            result = resolve(item, ctx)
            if result is not NO_VALUE:
                resolved[key] = result
        return resolved
    if isinstance(value, list):
        return [r for r in (resolve(item, ctx) for item in value) if r is not NO_VALUE]
    return value


def references(value: Any) -> set[str]:
    """Names (resources, parameters, pseudo parameters) that ``value`` refers to via Ref/GetAtt/Sub."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            name = _intrinsic_name(node)
            if name == "Ref" and isinstance(node["Ref"], str):
                found.add(node["Ref"])
                return
            if name == "Fn::GetAtt":
                arg = node[name]
                found.add(arg.partition(".")[0] if isinstance(arg, str) else str(arg[0]))
                return
            if name == "Fn::Sub":
                arg = node[name]
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                for match in _SUB_PATTERN.finditer(str(text)):
                    var = match.group(1).strip()
                    if var.startswith("!") or var in variables:
                        continue
                    found.add(var.partition(".")[0] if not var.startswith("AWS::") else var)
                walk(variables)
                return
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(value)
    return found


# --- template ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    properties: dict[str, Any]
    condition: str | None = None
    depends_on: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpRoute:
    """One HTTP API route: ``method`` is upper case (``ANY`` for any), ``path`` may hold ``{name}``
    and a trailing greedy ``{name+}``; the ``$default`` route has method ``ANY`` and path ``$default``.
    """

    method: str
    path: str
    function: str
    event: str = ""
    payload_format_version: str = "2.0"

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise CfnError(f"{where} must be a plain string locally, got {value!r}")
    return value


class Template:
    """A parsed SAM / CloudFormation template and the directory its relative paths start from."""

    def __init__(self, body: Mapping[str, Any], base_dir: Path | str = ".") -> None:
        self.body: dict[str, Any] = dict(body)
        self.base_dir = Path(base_dir)
        self.transform = body.get("Transform")
        self.parameters: dict[str, dict[str, Any]] = dict(body.get("Parameters") or {})
        self.conditions: dict[str, Any] = dict(body.get("Conditions") or {})
        self.mappings: dict[str, Any] = dict(body.get("Mappings") or {})
        self.globals: dict[str, Any] = dict(body.get("Globals") or {})
        self.outputs: dict[str, Any] = dict(body.get("Outputs") or {})
        self.resources: dict[str, Resource] = {}
        for logical_id, spec in (body.get("Resources") or {}).items():
            if not isinstance(spec, dict) or "Type" not in spec:
                raise CfnError(f"resource {logical_id} has no Type")
            depends = spec.get("DependsOn") or ()
            self.resources[logical_id] = Resource(
                logical_id=logical_id,
                type=spec["Type"],
                properties=dict(spec.get("Properties") or {}),
                condition=spec.get("Condition"),
                depends_on=(depends,) if isinstance(depends, str) else tuple(depends),
                metadata=dict(spec.get("Metadata") or {}),
            )

    @classmethod
    def load(cls, path: Path | str) -> Template:
        """Read a template file; relative paths in it (CodeUri, DefinitionUri...) start at its folder."""
        file = Path(path)
        return cls(load_template_text(file.read_text(encoding="utf-8")), base_dir=file.parent)

    # resources

    def resources_of_type(self, *types: str) -> dict[str, Resource]:
        return {lid: r for lid, r in self.resources.items() if r.type in types}

    def properties(self, logical_id: str) -> dict[str, Any]:
        """A resource's properties with the matching SAM ``Globals`` section merged in (by SAM)."""
        resource = self.resources[logical_id]
        properties = copy.deepcopy(resource.properties)
        if not self.globals:
            return properties
        merged = self._sam_globals.merge(resource.type, properties, logical_id)
        if not isinstance(merged, dict):
            raise CfnError(f"{logical_id}: the Globals do not merge into a mapping")
        return merged

    @functools.cached_property
    def _sam_globals(self) -> Globals:
        try:
            return Globals(copy.deepcopy(self.body))
        except InvalidDocumentException as exc:
            raise CfnError(_sam_errors(exc)) from exc
        except Exception as exc:  # samtranslator raises its own exception types for a bad section
            raise CfnError(f"Globals: {exc}") from exc

    @property
    def functions(self) -> dict[str, dict[str, Any]]:
        """Every ``AWS::Serverless::Function`` with its Globals-merged properties."""
        return {lid: self.properties(lid) for lid in self.resources_of_type("AWS::Serverless::Function")}

    def function_properties(self, logical_id: str) -> dict[str, Any]:
        if self.resources[logical_id].type != "AWS::Serverless::Function":
            raise CfnError(f"{logical_id} is not an AWS::Serverless::Function")
        return self.properties(logical_id)

    def function_events(self, logical_id: str, event_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
        events = self.function_properties(logical_id).get("Events") or {}
        for name, event in events.items():
            if event.get("Type") == event_type:
                yield name, dict(event.get("Properties") or {})

    @property
    def routes(self) -> list[HttpRoute]:
        """HTTP API routes from the functions' ``HttpApi`` events, in template order."""
        routes: list[HttpRoute] = []
        for logical_id in self.resources_of_type("AWS::Serverless::Function"):
            for name, props in self.function_events(logical_id, "HttpApi"):
                path = _text(props.get("Path", "$default"), f"{logical_id}.{name}.Path")
                method = _text(props.get("Method", "ANY"), f"{logical_id}.{name}.Method").upper()
                version = str(props.get("PayloadFormatVersion", "2.0"))
                routes.append(HttpRoute(method, path, logical_id, name, version))
        return routes

    # SAM -> CloudFormation

    def to_cloudformation(
        self, parameters: Mapping[str, Any] | None = None, *, region: str = DEFAULT_REGION
    ) -> Template:
        """The template as plain CloudFormation, translated by SAM (a copy if it has no SAM transform).

        Local paths (CodeUri, ContentUri, DefinitionUri) come out as S3 locations in the
        :data:`LOCAL_ARTIFACTS` bucket whose key is the path.
        """
        body = copy.deepcopy(self.body)
        if not self.transform:
            return Template(body, self.base_dir)
        _as_artifact((body.get("Globals") or {}).get("Function") or {}, "CodeUri")
        for spec in (body.get("Resources") or {}).values():
            key = _LOCAL_PATHS.get(str(spec.get("Type")))
            if key:
                _as_artifact(spec.setdefault("Properties", {}), key)
        translator = Translator(
            managed_policy_map=None,
            sam_parser=Parser(),
            plugins=[],
            boto_session=boto3.Session(region_name=region),
        )
        try:
            translated = translator.translate(
                sam_template=body,
                parameter_values=self.parameter_values(parameters),
                get_managed_policy_map=dict,
            )
        except InvalidDocumentException as exc:
            raise CfnError(_sam_errors(exc)) from exc
        finally:
            translator.metrics.publish()  # to SAM's dummy publisher: else it warns when collected
        return Template(translated, self.base_dir)

    # parameters and context

    def parameter_values(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Effective parameter values: overrides, else defaults; list types become lists."""
        overrides = dict(overrides or {})
        unknown = set(overrides) - set(self.parameters)
        if unknown:
            raise CfnError(f"unknown parameters: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        missing: list[str] = []
        for name, decl in self.parameters.items():
            if name in overrides:
                raw = overrides[name]
            elif "Default" in decl:
                raw = decl["Default"]
            else:
                missing.append(name)
                continue
            values[name] = _parameter_value(raw, str(decl.get("Type", "String")))
            _check_parameter(name, decl, values[name])
        if missing:
            raise CfnError(f"parameters without a value or default: {', '.join(missing)}")
        return values

    def context(
        self,
        stack_name: str,
        parameters: Mapping[str, Any] | None = None,
        resources: Mapping[str, ResourceValues] | None = None,
        *,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
    ) -> ResolveContext:
        return ResolveContext(
            stack_name=stack_name,
            parameters=self.parameter_values(parameters),
            resources=resources if resources is not None else {},
            conditions=self.conditions,
            mappings=self.mappings,
            region=region,
            account_id=account_id,
        )

    def is_active(self, logical_id: str, ctx: ResolveContext) -> bool:
        """False when the resource's ``Condition`` is false."""
        condition = self.resources[logical_id].condition
        return True if condition is None else ctx.condition(condition)


def _as_artifact(properties: dict[str, Any], key: str) -> None:
    value = properties.get(key)
    if isinstance(value, str) and "://" not in value:
        properties[key] = f"s3://{LOCAL_ARTIFACTS}/{value}"


def _sam_errors(exc: InvalidDocumentException) -> str:
    return "; ".join(str(getattr(cause, "message", cause)) for cause in exc.causes) or exc.message


def _parameter_value(raw: Any, declared_type: str) -> Any:
    if declared_type == "CommaDelimitedList" or declared_type.startswith("List<"):
        if isinstance(raw, list):
            return [_scalar_text(v, "parameter") for v in raw]
        text = _scalar_text(raw, "parameter")
        return [part.strip() for part in text.split(",")] if text else []
    return _scalar_text(raw, "parameter")


def _check_parameter(name: str, decl: Mapping[str, Any], value: Any) -> None:
    """CloudFormation's parameter constraints: AllowedValues, AllowedPattern, lengths, number range."""
    items = value if isinstance(value, list) else [value]
    allowed = decl.get("AllowedValues")
    pattern = decl.get("AllowedPattern")
    for item in items:
        if allowed is not None and item not in [_scalar_text(a, name) for a in allowed]:
            raise CfnError(f"parameter {name}={item!r} is not one of {allowed}")
        if pattern is not None and re.fullmatch(str(pattern), item) is None:
            raise CfnError(f"parameter {name}={item!r} does not match {pattern}")
        if "MinLength" in decl and len(item) < int(decl["MinLength"]):
            raise CfnError(f"parameter {name} is shorter than {decl['MinLength']}")
        if "MaxLength" in decl and len(item) > int(decl["MaxLength"]):
            raise CfnError(f"parameter {name} is longer than {decl['MaxLength']}")
        if decl.get("Type") == "Number":
            try:
                number = float(item)
            except ValueError:
                raise CfnError(f"parameter {name}={item!r} is not a number") from None
            if "MinValue" in decl and number < float(decl["MinValue"]):
                raise CfnError(f"parameter {name}={item} is below {decl['MinValue']}")
            if "MaxValue" in decl and number > float(decl["MaxValue"]):
                raise CfnError(f"parameter {name}={item} is above {decl['MaxValue']}")
