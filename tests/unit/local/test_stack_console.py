"""``make local``'s console stream: EMF metric documents are dropped, every other line is kept."""

from __future__ import annotations

import io

from local.stack import WithoutMetricLines

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
