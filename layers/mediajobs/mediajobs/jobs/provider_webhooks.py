"""Provider webhooks: hints until verified; duplicates and late or out-of-order callbacks change nothing.

ProdVisual and JoggAI sign the raw body (HMAC-SHA256): a verified body is trusted as the task's
state. Creatify signs nothing: its callback URL carries the job id and the key of the job's call
in flight (dead once that call's task is final), and the task is re-fetched from Creatify before
anything changes. A verified callback naming a task no job knows can be adopted by the job whose
unanswered call it answers (``JobPipeline.adopt_task``). A job resumes only when the recorded task
is final, and only one delivery can resume it (the task token is claimed atomically).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from mediajobs.errors import MediajobsError
from mediajobs.jobs.models import Job
from mediajobs.jobs.pipeline import JobPipeline
from mediajobs.observability import logger
from mediajobs.providers.base import ProviderAdapter, ProviderName, ProviderTask, StartKind, WebhookNotice

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.client import SFNClient


class Outcome(StrEnum):
    RESUMED = "resumed"
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


class UnknownCallbackError(MediajobsError):
    """A Creatify callback URL whose token matches no job."""


class ProviderWebhooks:
    def __init__(
        self,
        *,
        pipeline: JobPipeline,
        adapters: Callable[[ProviderName], ProviderAdapter],
        sfn: SFNClient,
        group_events: Callable[[ProviderName, bytes, WebhookNotice], Outcome | None] | None = None,
    ) -> None:
        self.group_events = group_events
        self.pipeline = pipeline
        self.store = pipeline.store
        self.adapters = adapters
        self.sfn = sfn

    def receive_signed(
        self, provider: ProviderName, headers: Mapping[str, str], body: bytes, hint: str | None = None
    ) -> Outcome:
        """ProdVisual / JoggAI: verify the signature (raises), then act on the signed state.

        ``hint`` is the callback URL's ``job`` parameter (``<job id>.<call key>``). It is used only
        when no job knows the task yet: a create call that got no answer adopts the task.
        """
        adapter = self.adapters(provider)
        notice = adapter.parse_webhook(headers, body)
        if self.group_events is not None:
            # a provider-side batch (ProdVisual) answers for many jobs at once
            outcome = self.group_events(provider, body, notice)
            if outcome is not None:
                return outcome
        job_id = self.store.job_id_for_task(provider.value, notice.task_id)
        if job_id is None:
            job_id, _, key = (hint or "").partition(".")
            if not (job_id and key and notice.task is not None):
                logger.info("webhook for a task no job waits on", extra={"provider": provider.value})
                return Outcome.IGNORED
            task = notice.task
            return self._act_once(provider, notice.event_id, job_id, lambda _job: task, adopt_key=key)
        return self._act_once(
            provider, notice.event_id, job_id, lambda job: notice.task or self._refetch(job)
        )

    def receive_creatify(self, token: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        """Creatify: the URL names the job and its call in flight; the task is re-fetched.

        The key works only while its call's task is unfinished: once that task is final (or the
        job is), the same URL is unknown (404), so a replayed callback can change nothing.
        """
        job_id, _, key = token.partition(".")
        job = self.store.find(job_id) if job_id else None
        creatify = job is not None and job.provider is ProviderName.CREATIFY
        expected = job.call.key if creatify and job is not None and job.call is not None else None
        if job is None or not expected or not hmac.compare_digest(key.encode(), expected.encode()):
            raise UnknownCallbackError("no job has this callback token")
        notice = self.adapters(ProviderName.CREATIFY).parse_webhook(headers, body)
        if notice.task_id not in {t.task_id for t in job.tasks}:
            if job.call is None or job.call.answered:
                return Outcome.IGNORED
            stage = _creatify_stage(job)
            return self._act_once(
                ProviderName.CREATIFY,
                notice.event_id,
                job_id,
                lambda j: self.adapters(j.provider).fetch(stage, notice.task_id),
                adopt_key=key,
            )
        return self._act_once(ProviderName.CREATIFY, notice.event_id, job_id, self._refetch)

    def _act_once(
        self,
        provider: ProviderName,
        event_id: str,
        job_id: str,
        task_of: Callable[[Job], ProviderTask],
        *,
        adopt_key: str | None = None,
    ) -> Outcome:
        if not self.store.remember_event(provider.value, event_id):
            return Outcome.DUPLICATE
        try:
            job = self.store.find(job_id)
            if job is None or job.status.final:
                return Outcome.IGNORED
            if adopt_key is not None:
                return self._adopt(job, task_of(job), adopt_key)
            if job.task is None:
                return Outcome.IGNORED
            task = task_of(job)
            if (task.stage, task.task_id) != (job.task.stage, job.task.task_id):
                return Outcome.IGNORED
            job = self.pipeline.record_webhook_task(job_id, task)
            return self.resume_if_done(job)
        except Exception:
            # let the provider's retry try again
            self.store.forget_event(provider.value, event_id)
            raise

    def _adopt(self, job: Job, task: ProviderTask, key: str) -> Outcome:
        job = self.pipeline.adopt_task(job.job_id, task, key)
        if job.task is None or job.task.task_id != task.task_id:
            return Outcome.IGNORED
        # the execution waits for this callback (or for the end of its wait): wake it now
        return self.resume(job)

    def _refetch(self, job: Job) -> ProviderTask:
        assert job.task is not None  # noqa: S101 - checked by the caller
        return self.adapters(job.provider).fetch(job.task.stage, job.task.task_id)

    def park(self, job_id: str, task_token: str) -> Outcome:
        """AwaitProvider: keep the token the execution waits on; resume at once if the answer is in.

        A webhook can arrive before the token exists; it records the task but finds no token to
        claim. Reading the job after storing the token closes that gap: whichever of the two sees
        a final task claims the token, and only one can.
        """
        self.store.put_task_token(job_id, task_token)
        return self.resume_if_done(self.store.get(job_id))

    def resume_if_done(self, job: Job) -> Outcome:
        if not (job.status.final or (job.task is not None and job.task.state.final)):
            return Outcome.RECORDED
        return self.resume(job)

    def resume(self, job: Job) -> Outcome:
        """Claim the job's task token (once) and let its execution go on."""
        token = self.store.claim_task_token(job.job_id)
        if token is None:
            return Outcome.RECORDED
        try:
            self.sfn.send_task_success(taskToken=token, output=json.dumps({"source": "webhook"}))
        except ClientError as exc:
            # the wait already timed out (the poll path has it) or the execution ended
            code = exc.response.get("Error", {}).get("Code", "Unknown")
            logger.info("task token no longer valid", extra={"job_id": job.job_id, "error_code": code})
            return Outcome.RECORDED
        return Outcome.RESUMED


def _creatify_stage(job: Job) -> str:
    """The stage of the task a Creatify create call in flight makes (for its re-fetch)."""
    start = job.spec.start_from
    video_start = start is not None and start.kind in {StartKind.REGEN_VIDEO, StartKind.GEN_VIDEO}
    if (job.call is not None and job.call.kind == "advance") or video_start:
        return "video"
    return "image"
