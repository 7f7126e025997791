"""A pytest plugin: the whole run's logs must carry no secret, signature, token or presigned URL.

At session start one :class:`AuditHandler` is attached to the root logger and to the ``mediajobs``
Powertools logger (whose handler writes the JSON lines to stdout: each record is rendered with that
handler's own formatter, so keys added with ``append_keys`` are seen too). Every record is scanned
when it is emitted; at session end :func:`pytest_sessionfinish` (trylast: after every fixture's
teardown) fails the run if a record of mediajobs contained a secret, and the terminal summary says
which: the kind, the logging call, the innermost line of mediajobs that led to it and the test.
Matched secrets are never printed.

A record is mediajobs' when its logger is ``mediajobs`` (or a child) or when code of the shipped
package (``layers/mediajobs/mediajobs``, ``functions``) is on the stack when it is logged: so
``httpx`` or ``botocore`` lines caused by mediajobs count, while the lines of the sandboxes, the
local stack's servers and the tests' own HTTP clients do not (they are counted, not failed).

As on Lambda (JSON logging, application log level INFO), the root logger is at INFO for the run.
Secrets looked for: the sandbox and local API keys, ``whsec_`` secrets, HMAC hex and Standard
Webhooks signature values, Step Functions task tokens (by key, and every token moto's Step
Functions issued in this run), ``X-Amz-Signature=`` / ``X-Amz-Credential=`` of presigned URLs,
callback URL keys (``<job id>.<key>``) and bearer tokens.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Final

import pytest

ROOT: Final = Path(__file__).resolve().parents[2]
SHIPPED: Final = (
    str(ROOT / "layers" / "mediajobs" / "mediajobs") + "/",
    str(ROOT / "functions") + "/",
)
MEDIAJOBS_LOGGER: Final = "mediajobs"
#: what AWS Lambda sets the root logger to with JSON logging and the default application log level
LAMBDA_ROOT_LEVEL: Final = logging.INFO
MAX_REPORTED: Final = 30
#: where an xdist worker puts what its handler saw, for the controller
WORKER_OUTPUT_KEY: Final = "log_audit"

LITERAL_SECRETS: Final = (
    "sandbox-key",
    "pv_test_sandbox",
    "sandbox-webhook-secret",
    "local-dev-key",
    "other-tenant-key",
    "sample-callback-token",
)
_VALUE: Final = r"""["']?\s*[:=]\s*["']?"""
PATTERNS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("whsec_ webhook secret", re.compile(r"whsec_[A-Za-z0-9+/]{8,}")),
    (
        "presigned URL signature",
        re.compile(r"X-Amz-(?:Signature|Credential|Security-Token)=[^&\s\"'#]*", re.I),
    ),
    (
        "HMAC signature header value",
        re.compile(rf"signature{_VALUE}(?:sha256=)?[0-9a-f]{{64}}(?![0-9a-f])", re.I),
    ),
    ("Standard Webhooks signature", re.compile(r"\bv1,[A-Za-z0-9+/]{40,}={0,2}")),
    ("Step Functions task token", re.compile(rf"task_?token{_VALUE}[A-Za-z0-9+/=_-]{{16,}}", re.I)),
    ("Creatify callback token", re.compile(r"/webhooks/creatify/[^\s/?#\"']*\.[A-Za-z0-9_-]{8,}")),
    ("Creatify callback token", re.compile(rf"callback_token{_VALUE}[A-Za-z0-9_-]{{8,}}", re.I)),
    ("Creatify callback token", re.compile(r"\b[0-9a-f]{32}\.[A-Za-z0-9_-]{16,}")),
    ("bearer token", re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]{8,}", re.I)),
)
_STANDARD_ATTRIBUTES: Final = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


@dataclass(frozen=True)
class Finding:
    kind: str
    excerpt: str  # the line around the secret, the secret itself masked
    logger: str
    call_site: str  # where the logging call is
    source: str | None  # the innermost line of mediajobs on the stack
    test: str | None


def placeholder(secret: str) -> str:
    """What the report shows instead of ``secret``: its first 4 characters and its length."""
    return f"{secret[:4]}…<{len(secret)} chars>"


def _spans(text: str, known: Iterable[str]) -> Iterator[tuple[str, int, int]]:
    for literal in LITERAL_SECRETS:
        for match in re.finditer(re.escape(literal), text):
            yield "configured API key or secret", match.start(), match.end()
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(text):
            yield kind, match.start(), match.end()
    for value in known:
        start = text.find(value)
        if start >= 0:
            yield "Step Functions task token", start, start + len(value)


def find_secrets(text: str, known: Iterable[str] = (), width: int = 90) -> Iterator[tuple[str, str]]:
    """``(kind, excerpt)`` for every secret in ``text``; ``known`` are exact values to look for.

    The excerpt is the text around the secret with every secret found in it masked.
    """
    spans = list(_spans(text, known))
    if not spans:
        return
    masked = text
    for secret in sorted({text[start:end] for _, start, end in spans}, key=len, reverse=True):
        masked = masked.replace(secret, placeholder(secret))
    for kind, start, end in spans:
        shown = placeholder(text[start:end])
        at = max(masked.find(shown), 0)
        excerpt = masked[max(0, at - width) : at + len(shown) + width]
        yield kind, " ".join(excerpt.split())


def _powertools_formatter(name: str) -> logging.Formatter | None:
    """The formatter of the Powertools handler that writes ``name``'s records, if there is one."""
    current: logging.Logger | None = logging.getLogger(name)
    while current is not None:
        handler = getattr(current, "powertools_handler", None)
        if isinstance(handler, logging.Handler):
            return handler.formatter
        current = current.parent if current.propagate else None
    return None


def render(record: logging.LogRecord) -> str:
    """Everything a handler could write for ``record``: message, extras, exception, Powertools keys."""
    parts: list[str] = []
    formatter = _powertools_formatter(record.name)
    if formatter is not None:
        try:
            parts.append(formatter.format(record))
        except Exception as exc:  # noqa: BLE001 - a broken record must still be scanned
            parts.append(f"<formatter failed: {exc!r}>")
    try:
        parts.append(record.getMessage())
    except Exception:  # noqa: BLE001 - a message with wrong args is still scanned raw
        parts.append(f"{record.msg!r} % {record.args!r}")
    extras = {key: value for key, value in vars(record).items() if key not in _STANDARD_ATTRIBUTES}
    if extras:
        parts.append(repr(extras))
    if record.exc_info and record.exc_info[1] is not None:
        parts.append("".join(traceback.format_exception(record.exc_info[1])))
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


def shipped_frame(frame: FrameType | None, shipped: tuple[str, ...]) -> str | None:
    """``path:line (function)`` of the innermost frame of shipped code on the stack, if any."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(shipped):
            where = Path(filename)
            shown = where.relative_to(ROOT) if where.is_relative_to(ROOT) else where
            return f"{shown}:{frame.f_lineno} ({frame.f_code.co_name})"
        frame = frame.f_back
    return None


def unaudited_worker(worker: str) -> Finding:
    """A worker ended cleanly without sending its records: its logs were not audited."""
    return Finding("unaudited worker", "(no records received)", "", worker, None, None)


class AuditHandler(logging.Handler):
    """Scans every record it is given; keeps the findings (and counts what it ignored)."""

    def __init__(
        self,
        *,
        shipped: tuple[str, ...] = SHIPPED,
        owner: str = MEDIAJOBS_LOGGER,
        current_test: Callable[[], str | None] = lambda: None,
    ) -> None:
        super().__init__(logging.NOTSET)
        self.shipped = shipped
        self.owner = owner
        self.current_test = current_test
        self.known: set[str] = set()
        self.findings: list[Finding] = []
        self.ignored = 0
        #: (kind, logger, call site) of the matches in lines that are not mediajobs'
        self.ignored_sites: Counter[tuple[str, str, str]] = Counter()
        self.records = 0
        self._last = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._last, "record", None) is record:
            return  # the same record, propagated from the mediajobs logger to the root logger
        self._last.record = record
        try:
            self.records += 1
            hits = list(find_secrets(render(record), tuple(self.known)))
            if not hits:
                return
            source = shipped_frame(sys._getframe(), self.shipped)
            ours = record.name == self.owner or record.name.startswith(f"{self.owner}.")
            call_site = f"{record.pathname}:{record.lineno} ({record.funcName})"
            if source is None and not ours:
                self.ignored += len(hits)
                self.ignored_sites.update((kind, record.name, call_site) for kind, _ in hits)
                return
            self.findings.extend(
                Finding(kind, excerpt, record.name, call_site, source, self.current_test())
                for kind, excerpt in hits
            )
        except Exception:  # noqa: BLE001 - auditing must never break the code under test
            self.handleError(record)

    def export(self) -> dict[str, Any]:
        """What this handler saw, as plain data (an xdist worker sends it to the controller)."""
        return {
            "records": self.records,
            "ignored": self.ignored,
            "ignored_sites": [[*site, count] for site, count in self.ignored_sites.items()],
            "findings": [asdict(finding) for finding in self.findings],
        }

    def merge(self, seen: dict[str, Any]) -> None:
        """Add what another process's handler saw (:meth:`export`)."""
        self.records += int(seen["records"])
        self.ignored += int(seen["ignored"])
        for kind, logger, call_site, count in seen["ignored_sites"]:
            self.ignored_sites[(kind, logger, call_site)] += int(count)
        self.findings.extend(Finding(**finding) for finding in seen["findings"])


def _record_task_tokens(known: set[str]) -> Callable[[], None]:
    """Remember every task token moto's Step Functions issues; returns the undo."""
    try:
        from moto.stepfunctions.parser.asl.eval.states import ContextObject
    except ImportError:  # pragma: no cover - without moto's interpreter there are no tokens
        return lambda: None
    original = ContextObject.update_task_token

    def update_task_token(self: ContextObject) -> str:
        token = original(self)
        known.add(token)
        return token

    ContextObject.update_task_token = update_task_token  # type: ignore[method-assign]

    def undo() -> None:
        ContextObject.update_task_token = original  # type: ignore[method-assign]

    return undo


class LogAudit:
    """The plugin: attach at session start, judge at session end."""

    def __init__(self) -> None:
        self.test: str | None = None
        self.handler = AuditHandler(current_test=lambda: self.test)
        self.loggers = (logging.getLogger(), logging.getLogger(MEDIAJOBS_LOGGER))
        self.root_level = logging.getLogger().level
        self.undo: Callable[[], None] = lambda: None
        #: xdist workers whose records were merged here (0 without xdist)
        self.workers = 0

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        root = logging.getLogger()
        if root.getEffectiveLevel() > LAMBDA_ROOT_LEVEL:
            root.setLevel(LAMBDA_ROOT_LEVEL)
        for logger in self.loggers:
            logger.addHandler(self.handler)
        self.undo = _record_task_tokens(self.handler.known)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        self.test = item.nodeid
        try:
            return (yield)
        finally:
            self.test = None

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        for logger in self.loggers:
            logger.removeHandler(self.handler)
        logging.getLogger().setLevel(self.root_level)
        self.undo()
        # an xdist worker hands what it saw to the controller, which judges and reports the run
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[WORKER_OUTPUT_KEY] = self.handler.export()
        if self.handler.findings and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """xdist's controller: a worker finished; add its records and findings to the run's."""
        seen = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY)
        if seen is None:
            if error is None:
                self.handler.findings.append(unaudited_worker(str(getattr(node, "gateway", node))))
            return
        self.workers += 1
        self.handler.merge(seen)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        handler = self.handler
        if terminalreporter.verbosity > 0:
            for (kind, logger, call_site), count in handler.ignored_sites.most_common():
                terminalreporter.write_line(
                    f"log audit: ignored {count}x {kind} from {logger!r} at {call_site}"
                )
        workers = f" in {self.workers} workers" if self.workers else ""
        if not handler.findings:
            terminalreporter.write_line(
                f"log audit: {handler.records} log records scanned{workers},"
                " no secret in a mediajobs log line"
                f" ({handler.ignored} matches in test or sandbox lines ignored; -v lists them)"
            )
            return
        terminalreporter.section("log audit: secrets in mediajobs log lines", sep="=", red=True, bold=True)
        seen: set[tuple[str, str, str | None]] = set()
        for finding in handler.findings:
            key = (finding.kind, finding.call_site, finding.source)
            if key in seen:
                continue
            seen.add(key)
            if len(seen) > MAX_REPORTED:
                break
            terminalreporter.write_line(f"{finding.kind}: logger {finding.logger!r} at {finding.call_site}")
            terminalreporter.write_line(f"    mediajobs line: {finding.source or '(the mediajobs logger)'}")
            terminalreporter.write_line(f"    test: {finding.test}")
            terminalreporter.write_line(f"    line: {finding.excerpt}")
        terminalreporter.write_line(
            f"log audit FAILED: {len(handler.findings)} secrets in mediajobs log lines"
            f" ({len(seen)} distinct kind/call/source) out of {handler.records} records"
        )


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("log-audit-session"):
        config.pluginmanager.register(LogAudit(), "log-audit-session")
