"""Regenerate: a new job linked to a succeeded source, starting from the source's provider task."""

from __future__ import annotations

from typing import Any

import pytest

from mediajobs.api.errors import ApiError, from_domain
from mediajobs.errors import DomainError
from mediajobs.jobs.models import Job, JobStatus
from mediajobs.jobs.requests import RegenerateRequest
from mediajobs.providers.base import ProviderName, StartFrom, StartKind
from tests.unit.actions.conftest import CREATIFY_TASK, PUBLIC, TENANT, SourceFactory, World, done


def regenerate(world: World, source: Job, tenant: str = TENANT, **body: Any) -> Job:
    return world.actions.regenerate(tenant, source.job_id, RegenerateRequest(**body), public_base_url=PUBLIC)


def refused(world: World, source: Job, **body: Any) -> ApiError:
    with pytest.raises(DomainError) as caught:
        regenerate(world, source, **body)
    return from_domain(caught.value)


def test_given_a_creatify_job_when_regenerated_with_an_image_prompt_then_regen_image_starts_on_its_task(
    world: World, source: SourceFactory
) -> None:
    original = source(ProviderName.CREATIFY, options={"aspect_ratio": "9x16", "video_prompt": "spin"})

    job = regenerate(world, original, image_prompt="on marble")

    stored = world.store.get(job.job_id)
    assert stored.regenerated_from == original.job_id
    assert stored.spec.start_from == StartFrom(
        kind=StartKind.REGEN_IMAGE, source_task_id=CREATIFY_TASK, source_job_id=original.job_id
    )
    assert stored.spec.options["image_prompt"] == "on marble"
    assert (stored.spec.options["aspect_ratio"], stored.spec.options["video_prompt"]) == ("9x16", "spin")
    assert stored.status is JobStatus.QUEUED
    assert stored.callback_token
    assert stored.callback_token != original.callback_token
    assert stored.timeline[0].detail == f"regenerated from {original.job_id}"
    assert world.sfn.started == [
        {"arn": world.actions.settings.state_machine_arn, "name": job.job_id, "input": {"job_id": job.job_id}}
    ]


def test_given_a_creatify_job_when_regenerated_with_a_video_prompt_then_regen_video_starts_on_its_video(
    world: World, source: SourceFactory
) -> None:
    original = source(ProviderName.CREATIFY)

    job = regenerate(world, original, video_prompt="slow pan")

    assert job.spec.start_from is not None
    assert (job.spec.start_from.kind, job.spec.start_from.source_task_id) == (
        StartKind.REGEN_VIDEO,
        CREATIFY_TASK,
    )
    assert job.spec.options["video_prompt"] == "slow pan"


def test_given_a_creatify_job_that_stopped_at_its_preview_when_regenerated_with_a_video_prompt_then_409(
    world: World, source: SourceFactory
) -> None:
    original = source(
        ProviderName.CREATIFY,
        options={"stop_after": "image"},
        tasks=[done(ProviderName.CREATIFY, "image", CREATIFY_TASK, "image_generated")],
    )

    error = refused(world, original, video_prompt="x")

    assert (error.status, error.code) == (409, "no_video")
    assert world.sfn.started == []


def test_given_a_creatify_job_when_both_prompts_are_sent_then_422(
    world: World, source: SourceFactory
) -> None:
    error = refused(world, source(ProviderName.CREATIFY), image_prompt="a", video_prompt="b")

    assert (error.status, error.code) == (422, "validation_error")


def test_given_a_prodvisual_job_when_regenerated_with_a_style_then_a_copy_of_its_product_image_is_used(
    world: World, source: SourceFactory
) -> None:
    original = source(ProviderName.PRODVISUAL, options={"style": "white_bg", "format": "png"})

    job = regenerate(world, original, style="lifestyle", quality=70)

    assert job.spec.start_from is None
    assert job.spec.options == {"style": "lifestyle", "format": "png", "quality": 70}
    assert job.product_image is not None
    assert job.product_image.s3_key == f"inputs/{job.job_id}/product.png"
    copied = world.s3.get_object(Bucket=world.bucket, Key=job.product_image.s3_key)["Body"].read()
    assert copied == b"png-bytes"
    assert job.callback_token is None


def test_given_a_prodvisual_job_when_the_merged_options_are_invalid_then_422_and_no_job(
    world: World, source: SourceFactory
) -> None:
    original = source(ProviderName.PRODVISUAL, options={"style": "white_bg", "format": "jpeg"})

    error = refused(world, original, style="lifestyle", background="transparent")

    assert (error.status, error.code) == (422, "validation_error")
    assert "png or webp" in error.message
    assert world.sfn.started == []


def test_given_a_prodvisual_job_when_regenerated_without_a_style_then_422_on_style(
    world: World, source: SourceFactory
) -> None:
    error = refused(world, source(ProviderName.PRODVISUAL), format="webp")

    assert (error.status, error.code) == (422, "validation_error")
    assert error.details is not None
    assert error.details[0].path == "style"


def test_given_a_job_when_sent_another_providers_field_then_422_names_the_field(
    world: World, source: SourceFactory
) -> None:
    error = refused(world, source(ProviderName.JOGG), script_style="Discovery", style="lifestyle")

    assert (error.status, error.code) == (422, "validation_error")
    assert error.details is not None
    assert error.details[0].path == "style"
    assert "script_style" in error.details[0].message


def test_given_a_jogg_job_when_regenerated_with_a_script_style_then_its_product_renders_without_old_script(
    world: World, source: SourceFactory
) -> None:
    original = source(ProviderName.JOGG, options={"override_script": "Buy it.", "length": "30"})

    job = regenerate(world, original, script_style="Discovery")

    assert job.spec.start_from is not None
    assert (job.spec.start_from.kind, job.spec.start_from.source_task_id) == (StartKind.RENDER, "prod-1")
    assert job.spec.options["script_style"] == "Discovery"
    assert job.spec.options["length"] == "30"
    assert "override_script" not in job.spec.options


def test_given_a_jogg_job_when_regenerated_with_an_override_script_then_it_is_used(
    world: World, source: SourceFactory
) -> None:
    job = regenerate(world, source(ProviderName.JOGG), override_script="Two sentences. Exactly.")

    assert job.spec.options["override_script"] == "Two sentences. Exactly."


def test_given_a_regenerated_jogg_job_when_regenerated_again_then_the_same_product_is_rendered(
    world: World, source: SourceFactory
) -> None:
    first = regenerate(world, source(ProviderName.JOGG), script_style="Data")
    world.store.update(
        first.job_id,
        lambda j: j.model_copy(
            update={"status": JobStatus.SUCCEEDED, "tasks": [done(ProviderName.JOGG, "video", "vid-2")]}
        ),
    )

    second = regenerate(world, world.store.get(first.job_id), script_style="Storytime")

    assert second.spec.start_from is not None
    assert second.spec.start_from.source_task_id == "prod-1"
    assert second.regenerated_from == first.job_id


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (JobStatus.QUEUED, "job_not_finished"),
        (JobStatus.RUNNING, "job_not_finished"),
        (JobStatus.ARCHIVING, "job_not_finished"),
        (JobStatus.FAILED, "job_not_succeeded"),
        (JobStatus.CANCELLED, "job_not_succeeded"),
    ],
)
def test_given_a_job_that_has_not_succeeded_when_regenerated_then_409(
    world: World, source: SourceFactory, status: JobStatus, code: str
) -> None:
    error = refused(world, source(ProviderName.PRODVISUAL, status=status), style="lifestyle")

    assert (error.status, error.code) == (409, code)


def test_given_another_tenants_job_when_regenerated_then_404(world: World, source: SourceFactory) -> None:
    original = source(ProviderName.PRODVISUAL, tenant_id="tenant-b")

    with pytest.raises(DomainError) as caught:
        regenerate(world, original, style="lifestyle")

    assert (from_domain(caught.value).status, from_domain(caught.value).code) == (404, "not_found")


def test_given_step_functions_down_when_regenerated_then_503_and_the_new_job_is_failed(
    world: World, source: SourceFactory
) -> None:
    original = source(ProviderName.PRODVISUAL)
    world.sfn.fail_with = "ServiceUnavailable"

    error = refused(world, original, style="lifestyle")

    assert (error.status, error.code) == (503, "service_unavailable")
    listed = world.store.list_jobs(TENANT)
    new = [j for j in listed.jobs if j.job_id != original.job_id]
    assert [(j.status, j.regenerated_from) for j in new] == [(JobStatus.FAILED, original.job_id)]
