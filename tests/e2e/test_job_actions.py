"""Regenerate, continue to video, cancel and list, through the HTTP API of the local stack."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from local.sample_shop import SampleShop
from local.stack import LocalStack

from tests.e2e.conftest import Client, fast_sandboxes, sandbox_settings

# fast providers for this module: a job takes one to two seconds


@pytest.fixture(scope="module", autouse=True)
def fast_providers(stack: LocalStack) -> Iterator[None]:
    with fast_sandboxes(stack):
        yield


@pytest.fixture(scope="module")
def owner(stack: LocalStack) -> Client:
    return Client(stack.api_url, stack.api_key)


@pytest.fixture(scope="module")
def creatify_source(owner: Client, shop: SampleShop) -> dict[str, Any]:
    return succeeded(owner.run(creatify_body(shop)))


@pytest.fixture(scope="module")
def preview_source(owner: Client, shop: SampleShop) -> dict[str, Any]:
    return succeeded(owner.run(creatify_body(shop, stop_after="image")))


@pytest.fixture(scope="module")
def prodvisual_source(owner: Client, shop: SampleShop) -> dict[str, Any]:
    return succeeded(owner.run(prodvisual_body(shop, style="white_bg")))


@pytest.fixture(scope="module")
def jogg_source(owner: Client, shop: SampleShop) -> dict[str, Any]:
    body = {"provider": "jogg", "product": {"page_url": shop.url("page.html")}, "options": {"length": "15"}}
    return succeeded(owner.run(body))


def creatify_body(shop: SampleShop, **options: str) -> dict[str, Any]:
    return {"provider": "creatify", "product": {"image_url": shop.url("product.png")}, "options": options}


def prodvisual_body(shop: SampleShop, **options: str) -> dict[str, Any]:
    return {"provider": "prodvisual", "product": {"image_url": shop.url("product.png")}, "options": options}


def succeeded(job: dict[str, Any]) -> dict[str, Any]:
    assert job["status"] == "succeeded", job.get("error")
    return job


def accepted(answer: Any) -> str:
    assert answer.status_code == 202, answer.text
    job_id = str(answer.json()["job_id"])
    assert answer.headers["location"] == f"/v1/jobs/{job_id}"
    return job_id


def error_code(answer: Any, status: int) -> str:
    assert answer.status_code == status, answer.text
    return str(answer.json()["error"]["code"])


def tasks(job: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["stage"], p["provider_job_id"]) for p in job["provider_jobs"]]


def kinds_and_hashes(job: dict[str, Any]) -> dict[str, str]:
    return {o["kind"]: o["sha256"] for o in job["outputs"]}


def stored_keys(stack: LocalStack, job_id: str) -> list[str]:
    listed = stack.client("s3").list_objects_v2(Bucket=stack.bucket_name, Prefix=f"outputs/{job_id}/")
    return sorted(o["Key"] for o in listed.get("Contents", []))


# -- regenerate ---------------------------------------------------------------------------------


def test_regenerating_a_creatify_job_with_an_image_prompt_makes_a_linked_job_with_its_own_outputs(
    stack: LocalStack, owner: Client, creatify_source: dict[str, Any]
) -> None:
    assert stack.sandboxes is not None
    source_id = creatify_source["job_id"]
    ((_, source_task), _) = tasks(creatify_source)

    job_id = accepted(owner.http.post(f"/v1/jobs/{source_id}/regenerate", json={"image_prompt": "on marble"}))
    job = succeeded(owner.wait_final(job_id))

    assert job["regenerated_from"] == source_id
    new_task = tasks(job)[0][1]
    assert tasks(job) == [("image", new_task), ("video", new_task)]
    regen = stack.sandboxes.creatify.tasks[new_task]
    assert (regen.regen_type, regen.regen_source_id, regen.image_prompt) == (
        "regen_image",
        source_task,
        "on marble",
    )
    assert set(kinds_and_hashes(job)) == {"preview", "video"}
    assert kinds_and_hashes(job)["preview"] != kinds_and_hashes(creatify_source)["preview"]
    assert stored_keys(stack, job_id) == [
        "outputs/" + job_id + "/preview.jpg",
        "outputs/" + job_id + "/video.mp4",
    ]
    assert kinds_and_hashes(owner.job(source_id)) == kinds_and_hashes(creatify_source)
    assert len(stored_keys(stack, source_id)) == 2


def test_regenerating_a_creatify_job_with_a_video_prompt_regenerates_from_its_video(
    stack: LocalStack, owner: Client, creatify_source: dict[str, Any]
) -> None:
    assert stack.sandboxes is not None
    source_id = creatify_source["job_id"]
    source_task = tasks(creatify_source)[-1][1]

    job_id = accepted(owner.http.post(f"/v1/jobs/{source_id}/regenerate", json={"video_prompt": "slow pan"}))
    job = succeeded(owner.wait_final(job_id))

    [(stage, new_task)] = tasks(job)
    assert stage == "video"
    regen = stack.sandboxes.creatify.tasks[new_task]
    assert (regen.regen_type, regen.regen_source_id, regen.video_prompt) == (
        "regen_video",
        source_task,
        "slow pan",
    )
    assert job["regenerated_from"] == source_id
    assert set(kinds_and_hashes(job)) == {"preview", "video"}


def test_regenerating_a_prodvisual_job_generates_its_product_image_in_another_style(
    stack: LocalStack, owner: Client, prodvisual_source: dict[str, Any]
) -> None:
    assert stack.sandboxes is not None
    source_id = prodvisual_source["job_id"]

    answer = owner.http.post(
        f"/v1/jobs/{source_id}/regenerate", json={"style": "lifestyle", "format": "webp"}
    )
    job = succeeded(owner.wait_final(accepted(answer)))

    assert job["regenerated_from"] == source_id
    [(_, generation_id)] = tasks(job)
    spec = stack.sandboxes.prodvisual.generations[generation_id].spec
    assert (spec.style, spec.fmt) == ("lifestyle", "webp")
    assert f"/p/{job['job_id']}.submit." in spec.image_url
    assert [(o["kind"], o["content_type"]) for o in job["outputs"]] == [("image", "image/webp")]
    assert kinds_and_hashes(owner.job(source_id)) == kinds_and_hashes(prodvisual_source)


def test_regenerating_a_jogg_job_with_another_script_style_renders_the_same_product_again(
    stack: LocalStack, owner: Client, jogg_source: dict[str, Any]
) -> None:
    assert stack.sandboxes is not None
    source_id = jogg_source["job_id"]
    product_id = dict(tasks(jogg_source))["product"]

    answer = owner.http.post(f"/v1/jobs/{source_id}/regenerate", json={"script_style": "Discovery"})
    job = succeeded(owner.wait_final(accepted(answer)))

    [(stage, video_id)] = tasks(job)
    assert stage == "video"
    assert video_id != dict(tasks(jogg_source))["video"]
    assert stack.sandboxes.jogg.videos[video_id].product.product_id == product_id
    assert job["regenerated_from"] == source_id
    assert "video" in kinds_and_hashes(job)
    assert kinds_and_hashes(owner.job(source_id)) == kinds_and_hashes(jogg_source)


def test_regenerating_with_options_of_another_provider_is_refused_with_the_field(
    owner: Client, prodvisual_source: dict[str, Any]
) -> None:
    answer = owner.http.post(f"/v1/jobs/{prodvisual_source['job_id']}/regenerate", json={"image_prompt": "x"})

    assert error_code(answer, 422) == "validation_error"
    assert answer.json()["error"]["details"][0]["path"] == "image_prompt"
    assert "style" in answer.json()["error"]["message"]


def test_regenerating_a_job_that_is_still_running_is_a_conflict(
    stack: LocalStack, owner: Client, shop: SampleShop
) -> None:
    assert stack.sandboxes is not None
    with sandbox_settings(stack.sandboxes.prodvisual, processing_seconds=3.0):
        job_id = owner.create(prodvisual_body(shop, style="mockup"))["job_id"]
        answer = owner.http.post(f"/v1/jobs/{job_id}/regenerate", json={"style": "lifestyle"})

    assert error_code(answer, 409) == "job_not_finished"
    assert job_id in answer.json()["error"]["message"]


def test_regenerating_with_a_video_prompt_a_job_that_stopped_at_its_preview_is_a_conflict(
    owner: Client, preview_source: dict[str, Any]
) -> None:
    answer = owner.http.post(f"/v1/jobs/{preview_source['job_id']}/regenerate", json={"video_prompt": "x"})

    assert error_code(answer, 409) == "no_video"
    assert f"/v1/jobs/{preview_source['job_id']}/video" in answer.json()["error"]["message"]


def test_another_tenants_job_cannot_be_regenerated(
    stack: LocalStack, prodvisual_source: dict[str, Any]
) -> None:
    stranger = Client(stack.api_url, "other-tenant-key")

    answer = stranger.http.post(
        f"/v1/jobs/{prodvisual_source['job_id']}/regenerate", json={"style": "mockup"}
    )

    assert error_code(answer, 404) == "not_found"


# -- continue to video --------------------------------------------------------------------------


def test_continuing_a_preview_only_creatify_job_makes_the_video_from_its_preview(
    stack: LocalStack, owner: Client, preview_source: dict[str, Any]
) -> None:
    assert stack.sandboxes is not None
    source_id = preview_source["job_id"]
    [(_, image_task)] = tasks(preview_source)

    job_id = accepted(owner.http.post(f"/v1/jobs/{source_id}/video", json={"video_prompt": "turntable"}))
    job = succeeded(owner.wait_final(job_id))

    assert job["continued_from"] == source_id
    assert tasks(job) == [("video", image_task)]
    assert stack.sandboxes.creatify.tasks[image_task].video_prompt == "turntable"
    assert set(kinds_and_hashes(job)) == {"preview", "video"}
    assert len(stored_keys(stack, job_id)) == 2
    source = owner.job(source_id)
    assert kinds_and_hashes(source) == kinds_and_hashes(preview_source)
    assert set(kinds_and_hashes(source)) == {"preview"}


def test_continuing_a_job_twice_is_a_conflict_naming_the_first_continuation(
    owner: Client, shop: SampleShop
) -> None:
    source_id = succeeded(owner.run(creatify_body(shop, stop_after="image")))["job_id"]
    first = accepted(owner.http.post(f"/v1/jobs/{source_id}/video"))

    again = owner.http.post(f"/v1/jobs/{source_id}/video", json={"video_prompt": "again"})

    assert error_code(again, 409) == "already_continued"
    assert first in again.json()["error"]["message"]


def test_a_job_that_made_its_video_cannot_be_continued(
    owner: Client, creatify_source: dict[str, Any]
) -> None:
    answer = owner.http.post(f"/v1/jobs/{creatify_source['job_id']}/video")

    assert error_code(answer, 409) == "not_continuable"


# -- cancel -------------------------------------------------------------------------------------


def test_cancelling_during_generation_leaves_no_late_output(
    stack: LocalStack, owner: Client, shop: SampleShop
) -> None:
    assert stack.sandboxes is not None
    sandbox = stack.sandboxes.prodvisual
    with sandbox_settings(sandbox, processing_seconds=2.0):
        job_id = owner.create(prodvisual_body(shop, style="mockup"))["job_id"]
        generation_id = wait_for(
            lambda: (owner.job(job_id)["provider_jobs"] or [{}])[0].get("provider_job_id")
        )

        deliveries = len(sandbox.webhooks)

        answer = owner.http.post(f"/v1/jobs/{job_id}/cancel")

        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "cancelled"
        # the provider finishes and calls back anyway (a delivery is logged once it was answered);
        # its generation fails: the product link closed when the job was cancelled
        wait_for(lambda: sandbox.generations[generation_id].status == "failed")
        wait_for(lambda: len(sandbox.webhooks) > deliveries)

    # the execution ended at once through NotifyClient (the Cancelled state), not via an archive
    assert wait_for(lambda: ended_execution(stack, job_id)) == "SUCCEEDED"
    job = owner.job(job_id)
    assert job["status"] == "cancelled"
    assert job["outputs"] == []
    assert [e["status"] for e in job["timeline"]][-1] == "cancelled"
    assert stored_keys(stack, job_id) == []


def test_cancelling_a_final_job_is_a_conflict(owner: Client, prodvisual_source: dict[str, Any]) -> None:
    answer = owner.http.post(f"/v1/jobs/{prodvisual_source['job_id']}/cancel")

    assert error_code(answer, 409) == "job_final"
    assert owner.job(prodvisual_source["job_id"])["status"] == "succeeded"


def wait_for(probe: Callable[[], Any], timeout: float = 20.0) -> Any:
    """The first truthy answer of ``probe``, polled until ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"nothing after {timeout}s")


def ended_execution(stack: LocalStack, job_id: str) -> str | None:
    arn = f"{stack.state_machine_arn.replace(':stateMachine:', ':execution:')}:{job_id}"
    status = str(stack.client("stepfunctions").describe_execution(executionArn=arn)["status"])
    return None if status == "RUNNING" else status


# -- list -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lister(stack: LocalStack, shop: SampleShop) -> tuple[Client, list[str]]:
    """A tenant of its own with six final jobs: 3 ProdVisual succeeded, 2 failed, 1 Creatify."""
    key = f"lister-{uuid.uuid4().hex}"
    stack.add_api_key(key, f"tenant-{key}")
    client = Client(stack.api_url, key)
    # the provider fails the jobs marked True (an injected failure of the generation)
    bodies = [
        (prodvisual_body(shop, style="mockup"), False),
        (prodvisual_body(shop, style="white_bg"), True),
        (creatify_body(shop, stop_after="image"), False),
        (prodvisual_body(shop, style="white_bg"), False),
        (prodvisual_body(shop, style="lifestyle"), True),
        (prodvisual_body(shop, style="lifestyle"), False),
    ]
    assert stack.sandboxes is not None
    prodvisual = stack.sandboxes.prodvisual
    failing = prodvisual.settings.faults.model_copy(update={"job_failure_rate": 1.0}).model_dump()
    ids = []
    for body, fails in bodies:
        with sandbox_settings(prodvisual, faults=failing) if fails else contextlib.nullcontext():
            job_id = client.create(body)["job_id"]
            assert client.wait_final(job_id)["status"] == ("failed" if fails else "succeeded")
        ids.append(job_id)
    return client, ids


def pages(client: Client, **params: Any) -> list[list[str]]:
    found: list[list[str]] = []
    cursor = None
    while True:
        answer = client.http.get("/v1/jobs", params=params | ({"cursor": cursor} if cursor else {}))
        assert answer.status_code == 200, answer.text
        found.append([job["job_id"] for job in answer.json()["jobs"]])
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return found


def test_listing_pages_through_the_tenants_jobs_newest_first(lister: tuple[Client, list[str]]) -> None:
    client, ids = lister

    assert pages(client, limit=2) == [ids[5:3:-1], ids[3:1:-1], ids[1::-1]]


def test_listing_filters_by_status_and_provider_without_short_pages(lister: tuple[Client, list[str]]) -> None:
    client, ids = lister

    assert pages(client, status="succeeded", provider="prodvisual", limit=2) == [[ids[5], ids[3]], [ids[0]]]
    assert pages(client, status="failed") == [[ids[4], ids[1]]]
    assert pages(client, provider="creatify") == [[ids[2]]]
    assert pages(client, status="cancelled") == [[]]


def test_listing_shows_a_summary_of_each_job(lister: tuple[Client, list[str]]) -> None:
    client, ids = lister

    [failed] = client.http.get("/v1/jobs", params={"status": "failed", "limit": 1}).json()["jobs"]

    assert failed["job_id"] == ids[4]
    # the provider failed its generation (injected): the job failed at its one stage
    assert (failed["provider"], failed["status"], failed["stage"]) == ("prodvisual", "failed", "generate")
    assert failed["error"]["code"] == "provider_failed"
    assert failed["links"] == {"self": f"/v1/jobs/{ids[4]}"}


def test_another_tenant_never_sees_the_jobs_nor_uses_the_cursor(
    stack: LocalStack, lister: tuple[Client, list[str]]
) -> None:
    client, ids = lister
    cursor = client.http.get("/v1/jobs", params={"limit": 1}).json()["next_cursor"]
    stranger = Client(stack.api_url, "other-tenant-key")

    seen = {job_id for page in pages(stranger, limit=100) for job_id in page}
    with_cursor = stranger.http.get("/v1/jobs", params={"cursor": cursor})

    assert seen.isdisjoint(ids)
    assert error_code(with_cursor, 400) == "invalid_cursor"


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"cursor": "not-a-cursor"}, 400, "invalid_cursor"),
        ({"limit": 0}, 422, "validation_error"),
        ({"limit": 101}, 422, "validation_error"),
        ({"status": "done"}, 422, "validation_error"),
        ({"provider": "acme"}, 422, "validation_error"),
    ],
)
def test_a_bad_listing_request_says_what_to_fix(
    owner: Client, params: dict[str, Any], status: int, code: str
) -> None:
    assert error_code(owner.http.get("/v1/jobs", params=params), status) == code
