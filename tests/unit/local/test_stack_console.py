"""``make local``'s console stream: EMF metric documents are dropped, every other line is kept."""

from __future__ import annotations

import io
from typing import Any, cast

from local.stack import JobConsole, LocalStack, WithoutMetricLines

EMF = '{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"ColdStart":[1.0]}'


def test_given_emf_and_other_lines_when_written_then_only_the_emf_lines_are_dropped() -> None:
    # Given the console stream over a buffer
    out = io.StringIO()
    console = WithoutMetricLines(out)

    # When a job line, an EMF document, an error log and a line in pieces are written
    print("job 1 prodvisual accepted", file=console)
    print(EMF, file=console)
    print('{"level":"ERROR","message":"provider down"}', file=console)
    console.write("job 1 prodvisual ")
    console.write("succeeded\n")
    console.flush()

    # Then everything but the metric document arrives, whole lines only
    assert out.getvalue().splitlines() == [
        "job 1 prodvisual accepted",
        '{"level":"ERROR","message":"provider down"}',
        "job 1 prodvisual succeeded",
    ]


def test_given_an_unfinished_line_then_it_waits_for_its_end() -> None:
    out = io.StringIO()
    console = WithoutMetricLines(out)

    console.write("half a line")

    assert out.getvalue() == ""


class TableOfJobs(JobConsole):
    """The console over job records given by the test instead of a jobs table."""

    def __init__(self, out: io.StringIO) -> None:
        super().__init__(cast("LocalStack", None), out)
        self.items: list[dict[str, Any]] = []

    def _job_items(self) -> list[dict[str, Any]]:
        return self.items


def job(status: str, **fields: Any) -> dict[str, Any]:
    return {"job_id": "j1", "status": status, "spec": {"provider": "creatify"}, **fields}


def test_given_a_job_through_its_life_then_one_line_per_change_and_none_when_nothing_changed() -> None:
    # Given the console
    out = io.StringIO()
    console = TableOfJobs(out)

    # When the job is seen queued, twice the same, in each stage, then succeeded
    for record in (
        job("queued"),
        job("queued"),
        job("running", task={"stage": "image"}),
        job("running", task={"stage": "video"}),
        job("succeeded", outputs=[{"kind": "preview"}, {"kind": "video"}]),
    ):
        console.items = [record]
        console.poll()

    # Then each change is one line, in order
    assert out.getvalue().splitlines() == [
        "job j1 creatify   accepted",
        "job j1 creatify   running (image)",
        "job j1 creatify   running (video)",
        "job j1 creatify   succeeded: 2 output(s) (preview, video)",
    ]


def test_given_a_job_first_seen_failed_then_accepted_and_the_failure_with_its_code() -> None:
    # Given a job that was accepted and failed between two polls
    console = TableOfJobs(io.StringIO())
    console.items = [job("failed", error={"code": "provider_failed", "message": "the provider gave up"})]

    # When the console polls
    lines = console.poll()

    # Then it still says the job was accepted, then why it failed
    assert lines == [
        "job j1 creatify   accepted",
        "job j1 creatify   failed: provider_failed: the provider gave up",
    ]
