"""``make local`` as a newcomer meets it: ports from the environment, 503 ``starting`` until
ready, a readable console, and a process that stops (ports released) when told, jobs in flight.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import httpx
import pytest

from tests.e2e.served_stack import ServedStack, job_bodies, port_is_open, served_stack, wait_final

pytestmark = pytest.mark.slow

STOP_SECONDS = 10.0


def create_jobs(served: ServedStack) -> list[str]:
    with served.client() as client:
        answers = [client.post("/v1/jobs", json=body) for body in job_bodies(served.sample_url())]
    assert [a.status_code for a in answers] == [202, 202, 202], [a.text for a in answers]
    return [str(a.json()["job_id"]) for a in answers]


def wait_running(served: ServedStack, job_ids: list[str], timeout: float = 30.0) -> None:
    """Until every job has left ``queued``: the executions and provider calls are in flight."""
    deadline = time.monotonic() + timeout
    with served.client() as client:
        while time.monotonic() < deadline:
            statuses = {client.get(f"/v1/jobs/{job_id}").json()["status"] for job_id in job_ids}
            if "queued" not in statuses:
                return
            time.sleep(0.1)
    raise AssertionError("the jobs never started")


@pytest.mark.parametrize("round_", range(5))
def test_given_jobs_in_flight_when_sigterm_then_the_process_exits_and_frees_every_port(round_: int) -> None:
    with served_stack() as served:
        # Given a served stack with a job per provider running
        served.wait_ready()
        job_ids = create_jobs(served)
        wait_running(served, job_ids)

        # When it gets SIGTERM
        served.signal(signal.SIGTERM)

        # Then it exits cleanly and every one of its ports is free within 10 seconds
        code, taken = served.wait_gone(STOP_SECONDS)
        assert code == 0, (round_, served.stderr)
        assert taken == [], (round_, served.ports)
        assert "SIGTERM: stopping the local stack" in served.stderr


@pytest.mark.parametrize("round_", range(2))
def test_given_jobs_in_flight_when_ctrl_c_then_the_process_exits_and_frees_every_port(round_: int) -> None:
    with served_stack() as served:
        # Given a served stack with jobs running
        served.wait_ready()
        create_jobs(served)

        # When Ctrl-C (SIGINT) arrives
        served.signal(signal.SIGINT)

        # Then it is gone, ports and all, within 10 seconds
        code, taken = served.wait_gone(STOP_SECONDS)
        assert (code, taken) == (0, []), (round_, served.stderr)
        assert "SIGINT: stopping the local stack" in served.stderr


def test_given_a_stack_still_provisioning_when_sigterm_then_it_exits_and_frees_every_port() -> None:
    with served_stack() as served:
        # Given a stack whose port is open but which is not ready yet
        served.wait_port_open()

        # When it gets SIGTERM
        served.signal(signal.SIGTERM)

        # Then it does not wait for the provisioning to finish to be gone
        code, taken = served.wait_gone(STOP_SECONDS)
        assert (code, taken) == (0, []), served.stderr


def test_given_port_variables_when_two_stacks_run_side_by_side_then_each_serves_its_own_jobs() -> None:
    with served_stack() as first, served_stack() as second:
        # Given two stacks, every port of each from its environment
        first.wait_ready()
        second.wait_ready()

        # Then each prints and serves the sandbox ports it was given
        for served in (first, second):
            for name in ("creatify", "jogg", "prodvisual"):
                assert served.sandbox_url(name) in served.stdout
                assert (
                    httpx.get(f"{served.sandbox_url(name)}/_sandbox/requests", timeout=5).status_code == 200
                )
            assert f"AWS services (moto): http://127.0.0.1:{served.ports['moto']}" in served.stdout

        # When each runs a ProdVisual job on its own sample image
        finished = []
        for served in (first, second):
            with served.client() as client:
                created = client.post("/v1/jobs", json=job_bodies(served.sample_url())[0])
                assert created.status_code == 202, created.text
                finished.append((served, wait_final(client, created.json()["job_id"])))

        # Then both succeed, each on its own stack only
        for served, job in finished:
            assert job["status"] == "succeeded", job
            other = second if served is first else first
            with other.client() as client:
                assert client.get(f"/v1/jobs/{job['job_id']}").status_code == 404


def _poll_from_port_open(served: ServedStack, seen: list[tuple[str, int, Any, str | None]]) -> None:
    """Send requests from the moment the port opens until the health check answers 200."""
    served.wait_port_open()
    anonymous = httpx.Client(base_url=served.api_url, timeout=10.0)
    keyed = served.client()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for label, send in (
            ("health", lambda: anonymous.get("/v1/health")),
            ("list", lambda: keyed.get("/v1/jobs")),
            ("create-unauthenticated", lambda: anonymous.post("/v1/jobs", json={})),
            ("sample", lambda: anonymous.get("/samples/product.png")),
        ):
            answer = send()
            document = answer.json() if answer.headers.get("content-type") == "application/json" else None
            seen.append((label, answer.status_code, document, answer.headers.get("retry-after")))
        if seen[-4][1] == 200 and seen[-4][0] == "health":
            return
        time.sleep(0.02)


def test_given_a_starting_stack_when_requests_arrive_at_once_then_503_starting_until_ready() -> None:
    with served_stack() as served:
        seen: list[tuple[str, int, Any, str | None]] = []
        # When a client sends requests from the moment the API port opens
        _poll_from_port_open(served, seen)

        # Then the early answers are 503 starting with Retry-After, the later ones 2xx/4xx, never 500
        statuses = [status for _, status, _, _ in seen]
        assert 500 not in statuses
        first_ready = next(i for i, status in enumerate(statuses) if status != 503)
        assert first_ready > 0, "the first request already found the stack ready"
        for _, status, document, retry_after in seen[:first_ready]:
            assert status == 503
            assert document["error"]["code"] == "starting"
            assert document["error"]["message"]
            assert retry_after is not None
            assert int(retry_after) > 0
        assert all(status < 500 for status in statuses[first_ready:]), seen[first_ready:]
        assert seen[-4][1:3] == (200, {"status": "ok"})
        after = {label: status for label, status, _, _ in seen[first_ready:]}
        assert after["list"] == 200
        assert after["create-unauthenticated"] == 401
        assert after["sample"] == 200

        # And the ready line is printed only once the stack answers (never before it is ready)
        served.wait_ready()
        lines = served.stdout.splitlines()
        assert lines[-1].startswith("mediajobs local stack ready: http://127.0.0.1:")
        assert f"Sample product image: {served.sample_url()}" in lines


def test_given_the_ready_line_when_it_is_printed_then_the_health_check_already_answers_200() -> None:
    with served_stack() as served:
        # Given the stack has printed that it is ready
        served.wait_ready()

        # Then at that moment the health check answers 200 without any key
        answer = httpx.get(f"{served.api_url}/v1/health", timeout=10)
        assert (answer.status_code, answer.json()) == (200, {"status": "ok"})
        assert port_is_open(served.ports["api"])


def test_given_jobs_run_then_the_console_shows_one_line_per_event_and_no_metric_noise() -> None:
    with served_stack() as served:
        # Given a served stack
        served.wait_ready()

        # When a job per provider runs to its end
        job_ids = create_jobs(served)
        with served.client() as client:
            jobs = [wait_final(client, job_id) for job_id in job_ids]
        assert [job["status"] for job in jobs] == ["succeeded"] * 3, jobs
        time.sleep(1.5)  # the console reads the table every half second

        # Then the console says, per job, that it was accepted and that it succeeded
        out = served.stdout
        for job_id in job_ids:
            lines = [line for line in out.splitlines() if line.startswith(f"job {job_id}")]
            assert any(line.endswith("accepted") for line in lines), lines
            assert any(" succeeded: " in line for line in lines), lines
            assert len(lines) == len(set(lines)), lines
        # and no EMF document, metric warning or routine INFO log reaches either stream
        console = out + served.stderr
        assert '{"_aws"' not in console
        assert "No application metrics to publish" not in console
        assert "Dimension" not in console
        assert '"level":"INFO"' not in console.replace(" ", "")


def test_given_a_served_stack_when_threads_poll_while_it_stops_then_no_answer_is_a_500() -> None:
    with served_stack() as served:
        # Given a served stack and clients polling it
        served.wait_ready()
        statuses: list[int] = []
        stop = threading.Event()

        def poll() -> None:
            with served.client() as client:
                while not stop.is_set():
                    try:
                        statuses.append(client.get("/v1/jobs").status_code)
                    except httpx.TransportError:
                        return

        pollers = [threading.Thread(target=poll) for _ in range(3)]
        for poller in pollers:
            poller.start()
        time.sleep(0.5)

        # When it gets SIGTERM
        served.signal(signal.SIGTERM)
        code, taken = served.wait_gone(STOP_SECONDS)
        stop.set()
        for poller in pollers:
            poller.join(timeout=10)

        # Then it is gone, and the answers it gave while stopping were never a 500
        assert (code, taken) == (0, []), served.stderr
        assert statuses
        assert 500 not in statuses
