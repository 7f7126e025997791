"""The steps of a job, one per state machine task. Each is safe to run twice.

Every step reads the job, acts, writes conditionally and answers a :class:`Step` telling the
state machine what comes next:

- ``await``: wait for the provider's callback, at most ``wait_seconds``, then poll once;
- ``advance``: the current stage is done and the job has another one;
- ``archive``: the provider's work is done; keep the outputs;
- ``retry_submit`` / ``retry_advance``: the provider, or the shared rate limiter
  (:mod:`mediajobs.ratelimit`), asked us to come back in ``wait_seconds``;
- ``fallback``: the provider failed for good and the job moved to its next fallback provider:
  submit again (see :meth:`JobPipeline.fall_back`);
- ``wait_credits`` / ``wait_credits_advance``: the provider has no credits left; the job is
  ``waiting_credits`` and the create call is sent again after ``wait_seconds`` (a growing,
  capped interval) until the operator tops up or the job's deadline passes;
- ``finished``: the job reached a final state (the next task tells the client).

Size: one module on purpose: it is the state machine's other half (``statemachine/job.asl.json``),
and every step's answer must be read against the others' to see that each is safe to run twice.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel

from mediajobs.config import Settings
from mediajobs.errors import ErrorKind, PermanentProviderError, ProviderError, RetryableProviderError
from mediajobs.jobs.intake import IntakeRefusedError
from mediajobs.jobs.models import (
    Attempt,
    ErrorInfo,
    Job,
    JobStatus,
    ProductImage,
    ProviderCall,
    utcnow,
)
from mediajobs.jobs.product_links import ProductLinks
from mediajobs.jobs.store import JobStore
from mediajobs.observability import logger
from mediajobs.providers.base import (
    ProductInput,
    ProviderAdapter,
    ProviderName,
    ProviderTask,
    StartRequest,
    TaskState,
)
from mediajobs.providers.registry import OPTIONS_MODELS
from mediajobs.ratelimit import RateLimitWaitError, prepaid_slot

PERMANENT_CODES = {
    ErrorKind.BAD_REQUEST: "provider_rejected_request",
    ErrorKind.UNAUTHORIZED: "provider_auth_failed",
    ErrorKind.FORBIDDEN: "provider_auth_failed",
    ErrorKind.INSUFFICIENT_CREDITS: "provider_insufficient_credits",
    ErrorKind.INVALID_IMAGE: "invalid_product_image",
    ErrorKind.TOO_LARGE: "product_image_too_large",
    ErrorKind.NOT_FOUND: "provider_not_found",
    ErrorKind.GENERATION_FAILED: "provider_failed",
    ErrorKind.INVALID_RESPONSE: "provider_invalid_response",
}

#: the failures after which a job moves to its next fallback provider: the provider failed the
#: generation, its credits ran out, or it stayed unreachable (never a refused request, a bad image
#: or the job's own deadline: another provider would not change those)
FALLBACK_CODES = frozenset({"provider_failed", "provider_insufficient_credits", "provider_unavailable"})

#: retryable errors of a create call that say the provider is unreachable (a 429 is the provider
#: pacing us, and a timeout leaves the create call unanswered: neither counts)
UNREACHABLE_KINDS = frozenset({ErrorKind.SERVER_ERROR, ErrorKind.CONNECTION})

#: the same for a status read: it makes nothing at the provider, so a read that times out is one
#: more unanswered request, not a task that may exist
POLL_UNREACHABLE_KINDS = UNREACHABLE_KINDS | {ErrorKind.TIMEOUT}

#: how a state machine error name (Catch) becomes a job error code
STATE_ERROR_CODES = {
    "States.Timeout": "timeout",
    "RetryableProviderError": "provider_unavailable",
    "PermanentProviderError": "provider_rejected_request",
    "ArchiveError": "archive_failed",
}


@dataclass(frozen=True)
class Step:
    next: str
    wait_seconds: int = 0

    def as_dict(self) -> dict[str, str | int]:
        return {"next": self.next, "wait_seconds": self.wait_seconds}


FINISHED = Step("finished")


def last_stage(job: Job) -> str:
    """The stage after which a job's provider work is done.

    Regenerated and continued jobs use the same stage names (a Creatify regen_image task is stage
    ``image``, regen_video and gen_video tasks stage ``video``; a JoggAI re-render starts at
    ``video``) and carry ``stop_after`` in their options, so the answer holds for them too.
    """
    if job.provider is ProviderName.CREATIFY:
        return "image" if job.spec.options.get("stop_after") == "image" else "video"
    if job.provider is ProviderName.JOGG:
        return "video"
    return "generate"


def error_from_provider(exc: ProviderError) -> ErrorInfo:
    code = "provider_unavailable" if exc.retryable else PERMANENT_CODES.get(exc.kind, "provider_error")
    return ErrorInfo(
        code=code,
        message=f"{exc.provider} answered {exc.provider_code}: {exc.provider_message}"[:1000],
        provider_code=exc.provider_code,
    )


def error_from_task(task: ProviderTask) -> ErrorInfo:
    reason = task.error_message or "the provider reported the generation as failed without a reason"
    return ErrorInfo(
        code="provider_failed",
        message=f"{task.provider.value} failed the {task.stage} stage: {reason}"[:1000],
        provider_code=task.error_code or task.provider_status,
    )


class JobPipeline:
    def __init__(
        self,
        *,
        store: JobStore,
        adapters: Callable[[ProviderName], ProviderAdapter],
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
        intake: Callable[[Job], ProductImage] | None = None,
        links: ProductLinks | None = None,
    ) -> None:
        self.intake = intake
        self.links = links or ProductLinks.from_settings(settings, clock)
        self.store = store
        self.adapters = adapters
        self.settings = settings
        self.now = clock

    # -- steps ----------------------------------------------------------------------------------

    def submit(self, job_id: str) -> Step:
        job = self.store.get(job_id)
        if job.status.final:
            return FINISHED
        if job.task is not None:
            return self.route(job)
        # a regenerated or continued job starts from a provider task: it needs no product image
        needs_image = job.spec.start_from is None and job.product_image is None
        if needs_image and job.spec.product.image_url and self.intake is not None:
            # batch items are accepted without fetching 500 images in one request: take it in now
            try:
                image = self.intake(job)
            except IntakeRefusedError as exc:
                return self.fail(job_id, ErrorInfo(code=exc.code, message=exc.message))
            job = self.store.update(job_id, lambda j: j.model_copy(update={"product_image": image}))
        adapter = self.adapters(job.provider)
        return self._create_call(job, "submit", lambda j: adapter.start(self.start_request(j)))

    def check(self, job_id: str, *, poll: bool) -> Step:
        job = self.store.get(job_id)
        if job.status.final:
            return FINISHED
        if job.task is None:
            if self._past_deadline(job):
                return self.fail(job_id, self._timeout_error(job))
            return self.submit(job_id)
        # past the deadline the provider is still asked once: a task it finished in the last
        # interval (webhook lost) succeeds; route() fails whatever is still unfinished
        if poll or not job.task.state.final:
            polled = self._poll(job)
            if isinstance(polled, Step):
                return polled
            job = polled
        return self.route(job)

    def _poll(self, job: Job) -> Job | Step:
        """Ask the provider for the current task once; the updated job, or what to do instead."""
        job_id, slot = job.job_id, job.rate_slot
        job = self.store.update(
            job_id, lambda j: j.model_copy(update={"poll_count": j.poll_count + 1, "rate_slot": None})
        )
        current = job.task
        assert current is not None  # noqa: S101 - checked by the caller
        try:
            with prepaid_slot(slot):
                task = self.adapters(job.provider).fetch(current.stage, current.task_id)
        except RateLimitWaitError as exc:
            self._keep_slot(job_id, exc.slot)
            return Step("await", _wake_before(exc.retry_after or 0.0))
        except RetryableProviderError as exc:
            logger.warning("provider status unavailable, waiting", extra={"job_id": job_id, "kind": exc.kind})
            return self._poll_unanswered(job, current, exc)
        except PermanentProviderError as exc:
            return self.fail_or_fall_back(job_id, error_from_provider(exc))
        return self._record(job_id, task, answered=True)

    def _poll_unanswered(self, job: Job, polled: ProviderTask, exc: RetryableProviderError) -> Job | Step:
        """A status read got no answer: wait and read again, or move on once it has been too long.

        A task already known to be final is routed as it is (reading it again changes nothing).
        A job with a fallback whose provider stays unreachable past the bound moves on, unless a
        create call of the job is unanswered (:meth:`fall_back` refuses those). Other jobs keep
        reading at the usual interval until their deadline.
        """
        if polled.state.final:
            return job
        await_step = self._await(job)
        if job.call is not None and not job.call.answered:
            return await_step
        waited = self._unreachable(job, exc, POLL_UNREACHABLE_KINDS)
        if waited is None:
            return await_step
        if isinstance(waited, Step):
            return waited
        left = math.ceil(self.settings.fallback_unreachable_seconds - waited)
        return Step("await", max(1, min(await_step.wait_seconds, left)))

    def advance(self, job_id: str) -> Step:
        job = self.store.get(job_id)
        if job.status.final:
            return FINISHED
        completed = job.task
        if (
            completed is None
            or completed.state is not TaskState.COMPLETED
            or completed.stage == last_stage(job)
        ):
            return self.route(job)
        adapter = self.adapters(job.provider)
        return self._create_call(
            job, "advance", lambda j: adapter.advance(completed, self.start_request(j, "advance"))
        )

    def fail(self, job_id: str, error: ErrorInfo) -> Step:
        """Mark the job failed with ``error`` unless it is already final."""
        now = self.now()

        def change(job: Job) -> Job | None:
            if job.status.final:
                return None
            failed = job.moved_to(JobStatus.FAILED, now=now, detail=error.code)
            return failed.model_copy(update={"error": error})

        job = self.store.update(job_id, change)
        logger.info("job failed", extra={"job_id": job_id, "code": job.error.code if job.error else None})
        return FINISHED

    def fail_from_state_error(
        self, job_id: str, error_name: str, *, caught_at: datetime | None = None
    ) -> Step:
        """MarkFailed: a Catch ended the job; ``error_name`` is the state error (or Lambda errorType).

        ``caught_at``: when the MarkFailed state was entered. An attempt that began after it was
        started by this very state (a retried invocation): the answer is ``fallback`` again, and
        the new attempt is left alone.
        """
        code = STATE_ERROR_CODES.get(error_name, "internal_error")
        messages = {
            "timeout": "the provider did not answer before the job's deadline",
            "provider_unavailable": "the provider kept failing or timing out; retries are exhausted",
            "archive_failed": "the outputs could not be copied from the provider",
        }
        job = self.store.get(job_id)
        started = job.attempt_started_at
        if caught_at is not None and started is not None and started > caught_at and not job.status.final:
            return Step("fallback")
        error = ErrorInfo(code=code, message=messages.get(code, "mediajobs failed internally"))
        return self.fail_or_fall_back(job_id, error)

    # -- fallback providers ------------------------------------------------------------------------

    def fail_or_fall_back(self, job_id: str, error: ErrorInfo) -> Step:
        """The current provider failed with ``error``: try the next fallback if it may, else fail."""
        if error.code in FALLBACK_CODES and self.fall_back(job_id, error):
            return Step("fallback")
        return self.fail(job_id, error)

    def fall_back(self, job_id: str, error: ErrorInfo) -> bool:
        """Move the job to its next fallback provider; ``False`` when it has none or must not.

        Never while a create call is unanswered: that call may have made (and billed) a task the
        provider's callback can still name, so the job keeps waiting for it as it would without
        fallbacks. The attempt that ends is kept in ``attempts`` with why it ended, and the
        timeline says which provider the job moved to.
        """
        now = self.now()
        moved: list[bool] = []

        def change(job: Job) -> Job | None:
            moved.clear()
            if job.status.final or not job.spec.fallback:
                return None
            if job.call is not None and not job.call.answered:
                return None
            following, *rest = job.spec.fallback
            ended = Attempt(
                provider=job.provider,
                options=job.spec.options,
                started_at=job.attempt_started_at or job.created_at,
                ended_at=now,
                outcome=error.code,
                message=error.message,
                task_ids=[
                    t.task_id
                    for t in job.tasks
                    if t.provider is job.provider and not any(a.made(t) for a in job.attempts)
                ],
            )
            spec = job.spec.model_copy(
                update={"provider": following.provider, "options": following.options, "fallback": rest}
            )
            token = job.callback_token
            if following.provider is ProviderName.CREATIFY and token is None:
                token = secrets.token_urlsafe(24)
            moved.append(True)
            updated = job.model_copy(
                update={
                    "spec": spec,
                    "task": None,
                    "call": None,
                    "rate_slot": None,
                    "poll_count": 0,
                    "unreachable_since": None,
                    "attempts": [*job.attempts, ended],
                    "attempt_started_at": now,
                    "callback_token": token,
                    "updated_at": now,
                }
            )
            detail = f"{ended.provider.value} {error.code}; fallback to {following.provider.value}"
            return updated.add_timeline(job.status, None, now, detail=detail)

        job = self.store.update(job_id, change)
        if moved:
            logger.info(
                "provider failed; moved to the fallback provider",
                extra={"job_id": job_id, "code": error.code, "provider": job.provider.value},
            )
        return bool(moved)

    def _unreachable(
        self, job: Job, exc: RetryableProviderError, kinds: frozenset[ErrorKind] = UNREACHABLE_KINDS
    ) -> Step | float | None:
        """A request found the provider unreachable: the seconds since it last answered, or the
        fallback's step once that is longer than ``fallback_unreachable_seconds``.

        ``None`` when the error does not count (a job without a fallback, a kind outside
        ``kinds``, a provider asking us to come back later): the caller waits its usual way.
        """
        if not job.spec.fallback or exc.kind not in kinds or exc.retry_after is not None:
            return None
        job_id, now = job.job_id, self.now()
        job = self.store.update(
            job_id,
            lambda j: (
                None if j.unreachable_since is not None else j.model_copy(update={"unreachable_since": now})
            ),
        )
        if not job.spec.fallback or job.unreachable_since is None:
            return None
        waited = (now - job.unreachable_since).total_seconds()
        bound = self.settings.fallback_unreachable_seconds
        if waited >= bound:
            error = error_from_provider(exc)
            message = f"{job.provider.value} stayed unreachable for {math.floor(waited)} s: {error.message}"
            return self.fail_or_fall_back(job_id, error.model_copy(update={"message": message[:1000]}))
        return waited

    def _create_unreachable(self, job: Job, exc: RetryableProviderError, step: str) -> Step | None:
        """A create call found the provider unreachable: wait, or fall back once it has been too long.

        Only jobs with a fallback wait here (in the state machine's Wait state, growing with the
        time already waited); others keep the Task's own Retry.
        """
        waited = self._unreachable(job, exc)
        if waited is None or isinstance(waited, Step):
            return waited
        left = self.settings.fallback_unreachable_seconds - waited
        return Step(step, max(1, min(15, math.ceil(waited) or 1, math.ceil(left))))

    # -- provider create calls --------------------------------------------------------------------

    def _create_call(
        self,
        job: Job,
        kind: Literal["submit", "advance"],
        send: Callable[[Job], ProviderTask | None],
    ) -> Step:
        """Send a create call (the provider makes a task, and may bill for it) exactly once if we can.

        The call is written on the job before the request leaves, with a fresh callback key. An
        answer, good or bad, settles it. No answer (a timeout here, or a task that dies before
        its next write) leaves it unanswered: the next attempt waits for the provider's callback
        instead of sending again (:meth:`_unanswered_wait`).
        """
        earlier = job.call
        if earlier is not None and earlier.kind == kind and not earlier.answered:
            waiting = self._unanswered_wait(job, earlier)
            if waiting is not None:
                return waiting
        job_id = job.job_id
        slot = job.rate_slot
        call = ProviderCall(kind=kind, key=secrets.token_urlsafe(18), started_at=self.now())
        job = self.store.update(job_id, lambda j: j.model_copy(update={"call": call, "rate_slot": None}))
        retry_step = "retry_submit" if kind == "submit" else "retry_advance"
        try:
            with prepaid_slot(slot):
                task = send(job)
        except RateLimitWaitError as exc:
            # nothing left: the request waits for the slot it reserved, in the state machine
            self._settle_call(job_id, call, rate_slot=exc.slot)
            return Step(retry_step, _wake_before(exc.retry_after or 0.0))
        except RetryableProviderError as exc:
            if exc.kind is not ErrorKind.TIMEOUT:
                # the provider answered (429, 5xx) or was never reached: it made no task
                self._settle_call(job_id, call)
            timed_out = exc.kind is ErrorKind.TIMEOUT
            waiting = None if timed_out else self._create_unreachable(job, exc, retry_step)
            return waiting or self._provider_wait(exc, retry_step)
        except PermanentProviderError as exc:
            return self._refused(job_id, call, exc, kind)
        if task is None:
            self._settle_call(job_id, call)
            return Step("archive")
        return self.route(self._record(job_id, task, call_key=call.key))

    def _refused(self, job_id: str, call: ProviderCall, exc: PermanentProviderError, kind: str) -> Step:
        """The provider answered the create call with a refusal: the call made no task.

        Out of credits, a job with a fallback provider moves on to it; one without waits for a
        top-up (``waiting_credits``). Any other refusal fails the job or moves it on.
        """
        if exc.kind is ErrorKind.INSUFFICIENT_CREDITS and not self.store.get(job_id).spec.fallback:
            return self._wait_for_credits(job_id, call, exc, kind)
        self._settle_call(job_id, call)
        return self.fail_or_fall_back(job_id, error_from_provider(exc))

    def _wait_for_credits(
        self, job_id: str, call: ProviderCall, exc: PermanentProviderError, kind: str
    ) -> Step:
        """The provider refused the create call for want of credits: it made no task and billed
        nothing. Park the job as ``waiting_credits`` and send the call again later; past the
        deadline, fail it with the provider's mapped code (``provider_insufficient_credits``)."""
        now = self.now()
        job = self.store.get(job_id)
        if self._past_deadline(job):
            self._settle_call(job_id, call)
            return self.fail(job_id, error_from_provider(exc))
        interval = min(
            self.settings.poll_max_seconds,
            self.settings.poll_initial_seconds * 2 ** min(job.credit_waits, 20),
        )
        remaining = math.ceil((job.deadline_at - now).total_seconds())
        wait = max(1, min(interval, remaining))
        detail = (
            f"{exc.provider} has no credits left ({exc.provider_code}); sending the request again "
            f"every few seconds until {job.deadline_at:%Y-%m-%dT%H:%M:%SZ}"
        )

        def change(current: Job) -> Job | None:
            if current.status.final:
                return None
            parked = current.model_copy(update={"credit_waits": current.credit_waits + 1})
            if current.call is not None and current.call.key == call.key:
                parked = parked.model_copy(update={"call": None})
            return parked.moved_to(JobStatus.WAITING_CREDITS, now=now, detail=detail)

        parked = self.store.update(job_id, change)
        if parked.status.final:
            return FINISHED
        logger.warning(
            "the provider has no credits left; the job waits for a top-up",
            extra={"job_id": job_id, "wait_seconds": wait, "attempt": parked.credit_waits},
        )
        return Step("wait_credits" if kind == "submit" else "wait_credits_advance", wait)

    def _unanswered_wait(self, job: Job, call: ProviderCall) -> Step | None:
        """An earlier create call got no answer: wait for the callback that may name its task.

        Providers take no idempotency key, so sending again could make (and bill) a second task.
        The provider's callback carries the call's key, and :meth:`adopt_task` records the task
        it names. After ``unanswered_call_wait_seconds`` without one, the call is sent again.
        Calls whose task the provider never calls back for (JoggAI's product) are sent again at
        once.
        """
        if not _calls_back(job, call.kind):
            return None
        waited = (self.now() - call.started_at).total_seconds()
        left = self.settings.unanswered_call_wait_seconds - waited
        if left > 0 and not self._past_deadline(job):
            logger.warning(
                "a create call got no answer; waiting for the provider's callback",
                extra={"job_id": job.job_id, "call": call.kind, "wait_seconds": math.ceil(left)},
            )
            return Step("await", max(1, math.ceil(left)))
        logger.warning(
            "a create call got no answer and no callback named its task; sending it again",
            extra={"job_id": job.job_id, "call": call.kind},
        )
        return None

    def _settle_call(self, job_id: str, call: ProviderCall, *, rate_slot: float | None = None) -> None:
        def change(job: Job) -> Job | None:
            if job.call is None or job.call.key != call.key:
                return None
            return job.model_copy(update={"call": None, "rate_slot": rate_slot})

        self.store.update(job_id, change)

    def _keep_slot(self, job_id: str, slot: float | None) -> None:
        self.store.update(job_id, lambda j: j.model_copy(update={"rate_slot": slot}))

    def adopt_task(self, job_id: str, task: ProviderTask, key: str) -> Job:
        """A verified callback names the task of the job's unanswered create call: record it.

        ``key`` is the callback URL's key; it must be the key of the call in flight, so a
        callback for another job or an earlier call can adopt nothing.
        """
        job = self.store.get(job_id)
        call = job.call
        if (
            job.status.final
            or call is None
            or call.answered
            or not secrets.compare_digest(call.key.encode(), key.encode())
            or (call.kind == "advance" and (job.task is None or job.task.stage == task.stage))
        ):
            return job
        logger.info("task adopted from the provider's callback", extra={"job_id": job_id, "call": call.kind})
        return self._record(job_id, task, call_key=call.key)

    # -- decisions ------------------------------------------------------------------------------

    def route(self, job: Job) -> Step:
        task = job.task
        if job.status.final:
            return FINISHED
        if task is None:
            return Step("retry_submit", 1)
        if task.state is TaskState.FAILED:
            return self.fail_or_fall_back(job.job_id, error_from_task(task))
        if task.state is TaskState.COMPLETED:
            return Step("archive") if task.stage == last_stage(job) else Step("advance")
        if self._past_deadline(job):
            return self.fail(job.job_id, self._timeout_error(job))
        return self._await(job)

    def _await(self, job: Job) -> Step:
        interval = min(
            self.settings.poll_max_seconds,
            self.settings.poll_initial_seconds * 2 ** min(job.poll_count, 20),
        )
        remaining = (job.deadline_at - self.now()).total_seconds()
        return Step("await", max(1, min(interval, math.ceil(remaining))))

    def _provider_wait(self, exc: RetryableProviderError, step: str) -> Step:
        if exc.retry_after is None:
            raise exc
        return Step(step, max(1, math.ceil(exc.retry_after)))

    def _past_deadline(self, job: Job) -> bool:
        return self.now() >= job.deadline_at

    def _timeout_error(self, job: Job) -> ErrorInfo:
        stage = job.stage or "submit"
        return ErrorInfo(
            code="timeout",
            message=(
                f"the provider did not finish the {stage} stage before the job's deadline "
                f"({job.deadline_at:%Y-%m-%dT%H:%M:%SZ})"
            ),
        )

    def _record(
        self, job_id: str, task: ProviderTask, *, call_key: str | None = None, answered: bool = False
    ) -> Job:
        """Record a task's state; never lets a stale answer move a task backwards.

        ``call_key``: the task is the answer to the create call with this key (the call is then
        answered). A final task ends the call in flight, and with it its callback key.
        ``answered``: the task is the provider's answer to our status read or its verified webhook.
        Either answer resets the unreachable clock (``unreachable_since``): a provider that
        reports on the task is reachable, whatever its status endpoint says.
        """
        now = self.now()

        def change(job: Job) -> Job | None:
            if job.status.final or task.provider is not job.provider:
                # a late answer of a provider the job has moved away from changes nothing
                return None
            if any(attempt.made(task) for attempt in job.attempts):
                # nor one about a task of an abandoned attempt on this same provider
                return None
            call = job.call
            reached = None if answered else job.unreachable_since
            if call is not None and call_key is not None and call.key == call_key and not call.answered:
                call = call.model_copy(update={"answered": True})
                reached = None
            if call is not None and task.state.final and call.answered:
                call = None
            current = job.task
            same_task = current is not None and (current.stage, current.task_id) == (task.stage, task.task_id)
            if same_task and current is not None and (current.state.final or current == task):
                if (call, reached) == (job.call, job.unreachable_since):
                    return None
                return job.model_copy(update={"call": call, "unreachable_since": reached})
            updated = job.with_task(task, now=now).model_copy(
                update={"call": call, "unreachable_since": reached}
            )
            if job.status in {JobStatus.QUEUED, JobStatus.WAITING_CREDITS}:
                # a job that waited for credits runs again once the provider takes its request
                return updated.moved_to(JobStatus.RUNNING, now=now).model_copy(update={"credit_waits": 0})
            return updated

        return self.store.update(job_id, change)

    def record_task(self, job_id: str, task: ProviderTask) -> Job:
        """Record a task submitted outside :meth:`submit` (a provider batch's item)."""
        return self._record(job_id, task)

    def record_webhook_task(self, job_id: str, task: ProviderTask) -> Job:
        """A verified provider answer for the job's current task (webhook path)."""
        return self._record(job_id, task, answered=True)

    # -- requests -------------------------------------------------------------------------------

    def start_request(self, job: Job, stage: str = "submit") -> StartRequest:
        options_model: type[BaseModel] = OPTIONS_MODELS[job.provider]
        product = job.spec.product
        image_url = product.image_url
        if job.product_image is not None:
            image_url = self.product_link(job, stage)
        return StartRequest(
            product=ProductInput(
                image_url=image_url,
                page_url=product.page_url,
                title=product.title,
                description=product.description,
                target_audience=product.target_audience,
            ),
            options=options_model.model_validate(job.spec.options),
            webhook_url=self.callback_url(job),
            start_from=job.spec.start_from,
        )

    def product_link(self, job: Job, stage: str = "submit") -> str:
        """The signed link the provider fetches the product image from (mediajobs.jobs.product_links)."""
        return self.links.issue(job, stage)

    def callback_url(self, job: Job) -> str | None:
        """Where the provider calls back for the job's current create call.

        Creatify signs nothing: the path carries the job id and the call's key, and nothing
        else is accepted. ProdVisual and JoggAI sign their bodies; the ``job`` query parameter
        (same id and key) only lets a verified callback name the task of a call that got no
        answer.
        """
        if not job.public_base_url:
            return None
        base = f"{job.public_base_url}/v1/webhooks/{job.provider.value}"
        key = job.call.key if job.call is not None else None
        if job.provider is ProviderName.CREATIFY:
            return f"{base}/{job.job_id}.{key}" if key else None
        return f"{base}?job={job.job_id}.{key}" if key else base


def _wake_before(seconds: float) -> int:
    """Wait-state seconds that end shortly before a reserved slot (the rest is waited inline)."""
    return max(1, math.floor(seconds - 1.0))


def _calls_back(job: Job, kind: str) -> bool:
    """Whether the provider calls back for the task a create call of ``kind`` makes."""
    if job.provider is not ProviderName.JOGG:
        return True
    return kind == "advance" or job.spec.start_from is not None


def deadline_after(now: datetime, seconds: int) -> datetime:
    return now + timedelta(seconds=seconds)
