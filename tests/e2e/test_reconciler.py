"""Nothing stays stuck: the scheduled reconciler finishes jobs their executions did not."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from local.sample_shop import SampleShop
from local.stack import DEFAULT_TENANT, LocalStack

from tests.e2e.conftest import Client, sandbox_settings


def move_deadline(stack: LocalStack, job_id: str, when: datetime) -> None:
    stack.client("dynamodb").update_item(
        TableName=stack.table_name,
        Key={"pk": {"S": f"JOB#{job_id}"}, "sk": {"S": "JOB"}},
        UpdateExpression="SET deadline_at = :when, gsi4sk = :sort",
        ExpressionAttributeValues={
            ":when": {"S": when.isoformat().replace("+00:00", "Z")},
            ":sort": {"S": f"{when:%Y-%m-%dT%H:%M:%S}#{job_id}"},
        },
    )


def test_a_job_whose_execution_never_ran_is_finished_from_the_providers_answer(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    from mediajobs.aws import dynamodb_table
    from mediajobs.jobs.models import Job, JobSpec, JobStatus
    from mediajobs.jobs.store import JobStore
    from mediajobs.providers.base import ProductInput, ProviderName
    from mediajobs.providers.prodvisual import ProdVisualAdapter, ProdVisualOptions

    assert stack.sandboxes is not None
    adapter = ProdVisualAdapter(
        stack.sandboxes.prodvisual.base_url, stack.sandboxes.prodvisual.settings.api_key
    )
    task = adapter.generate(ProdVisualOptions(style="mockup").to_request(shop.url("product.png")))
    assert task.status == "completed"
    from mediajobs.providers.prodvisual.adapter import task_from_generation
    from mediajobs.providers.prodvisual.models import GenerationStatus

    now = datetime.now(UTC)
    job = Job(
        job_id=uuid.uuid4().hex,
        tenant_id=DEFAULT_TENANT,
        status=JobStatus.RUNNING,
        deadline_at=now - timedelta(hours=1),
        spec=JobSpec(
            provider=ProviderName.PRODVISUAL,
            product=ProductInput(image_url=shop.url("product.png")),
            options={"style": "mockup"},
        ),
        public_base_url=stack.api_url,
    ).with_task(task_from_generation(GenerationStatus.model_validate(task.model_dump())), now=now)
    JobStore(dynamodb_table(stack.table_name)).create(job)  # no execution: as if StartExecution was lost

    answer = stack.invoke("ReconcileJobsFunction", {"source": "aws.events", "detail-type": "Scheduled Event"})

    assert answer["outcomes"].get("reconciled_succeeded", 0) >= 1
    finished = client.job(job.job_id)
    assert finished["status"] == "succeeded"
    assert [o["kind"] for o in finished["outputs"]] == ["image"]


def test_a_job_far_past_its_deadline_is_failed_with_timeout(
    stack: LocalStack, client: Client, shop: SampleShop
) -> None:
    assert stack.sandboxes is not None
    with sandbox_settings(stack.sandboxes.creatify, image_generating_seconds=60.0):
        created = client.create({"provider": "creatify", "product": {"image_url": shop.url("product.png")}})
        move_deadline(stack, created["job_id"], datetime.now(UTC) - timedelta(hours=1))

        answer = stack.invoke("ReconcileJobsFunction", {"source": "aws.events"})

    # the job's own execution also watches the deadline and may fail it first (then the sweep no
    # longer sees it); whichever does, the job ends failed with code timeout
    assert "reconciled_succeeded" not in answer["outcomes"]
    job = client.wait_final(created["job_id"], timeout=30)
    assert job["status"] == "failed"
    assert job["error"]["code"] == "timeout"
    assert job["outputs"] == []


def test_a_job_in_time_is_left_to_its_execution(stack: LocalStack, client: Client, shop: SampleShop) -> None:
    from mediajobs.tasks.jobs import reconciler

    assert stack.sandboxes is not None
    with sandbox_settings(stack.sandboxes.prodvisual, pending_seconds=2.0):
        created = client.create(
            {
                "provider": "prodvisual",
                "product": {"image_url": shop.url("product.png")},
                "options": {"style": "mockup"},
            }
        )
        outcome = reconciler().reconcile(created["job_id"])
        final = client.wait_final(created["job_id"])

    assert outcome == "left_to_its_execution"
    assert final["status"] == "succeeded"
