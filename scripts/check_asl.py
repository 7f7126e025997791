"""Check state machine definitions the way neither `sam validate --lint` nor cfn-lint does.

For each ASL file: moto's parser (unknown keys, type errors), the npm asl-validator (missing Next
and StartAt targets, JSONPath), and the template's DefinitionSubstitutions (every ${Name} in the
file has a substitution and every substitution is used).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short tags as plain data; only the structure matters here."""


def _any_tag(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> object:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)  # type: ignore[arg-type]


_CfnLoader.add_multi_constructor("!", _any_tag)


def substitutions_by_file() -> dict[Path, set[str]]:
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    found: dict[Path, set[str]] = {}
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::StateMachine":
            props = resource["Properties"]
            found[(ROOT / props["DefinitionUri"]).resolve()] = set(props.get("DefinitionSubstitutions", {}))
    return found


def check(path: Path, substitutions: dict[Path, set[str]]) -> list[str]:
    problems: list[str] = []
    text = path.read_text()
    try:
        json.loads(text)
        AmazonStateLanguageParser.parse(text)
    except Exception as exc:  # noqa: BLE001 - report any parser failure as a finding
        problems.append(f"moto ASL parser: {type(exc).__name__}: {exc}")
    npx = shutil.which("npx")
    if npx is None:
        problems.append("npx not found: install Node.js to run asl-validator")
    else:
        result = subprocess.run(  # noqa: S603 - fixed argv
            [npx, "--no-install", "asl-validator", "--json-path", str(path)],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
        if result.returncode != 0:
            problems.append(f"asl-validator: {result.stdout.strip()} {result.stderr.strip()}")
    used = set(PLACEHOLDER.findall(text))
    declared = substitutions.get(path.resolve())
    if declared is None:
        problems.append("no AWS::Serverless::StateMachine in template.yaml uses this file")
    else:
        problems += [f"${{{name}}} has no DefinitionSubstitution" for name in sorted(used - declared)]
        problems += [f"DefinitionSubstitution {name} is never used" for name in sorted(declared - used)]
    return problems


def main(paths: list[str]) -> int:
    substitutions = substitutions_by_file()
    failed = False
    for name in paths:
        problems = check(Path(name), substitutions)
        for problem in problems:
            print(f"{name}: {problem}")
        failed = failed or bool(problems)
        if not problems:
            print(f"{name}: ok (moto parser, asl-validator, substitutions)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
