"""Every price mediajobs uses, in one place, each with where it comes from.

Provider credits are the providers' own words (the API documents in the provider docs); where a
document states no price, the price is ``None`` and mediajobs records what the provider reports
after the fact, or nothing: it never invents a figure.

AWS prices are list prices used only for an *estimate* of mediajobs' own cost per job; they are
the public on-demand prices of us-east-1 on the AWS pricing pages of each service (AWS Lambda
arm64, Step Functions Standard workflows, API Gateway HTTP APIs, DynamoDB on-demand after its
November 2024 reduction, S3 Standard) as published in January 2025 (:data:`AWS_PRICES_AS_OF`),
not re-checked since. Free tiers are ignored. Check them against the pricing pages before using
the estimate for anything but an order of magnitude.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from mediajobs.providers.base import ProviderName


@dataclass(frozen=True)
class ProviderPrice:
    """What one job costs at a provider, in the provider's credits."""

    #: credits per successful job, as the provider documents it (``None``: no documented price)
    credits_per_job: float | None
    #: whether the provider reports the credits a task used (then that figure is recorded)
    reports_credits: bool
    #: where the figures come from
    source: str
    #: whether mediajobs can read the provider's credit balance
    balance_readable: bool


PROVIDER_PRICES: dict[ProviderName, ProviderPrice] = {
    ProviderName.PRODVISUAL: ProviderPrice(
        credits_per_job=1,
        reports_credits=True,
        source=(
            "ProdVisual API v1, POST /v1/generate: 'Consumes 1 credit per successful generation' "
            "(batch: '1 credit per image'); answers carry credits_used; balance: GET /v1/account/credits"
        ),
        balance_readable=True,
    ),
    ProviderName.JOGG: ProviderPrice(
        credits_per_job=None,
        reports_credits=True,
        source=(
            "JoggAI documents no price per video; GET /v2/product_video/{id} and its webhook report "
            "deducted_credit after the render, and business code 18020 means insufficient credit; "
            "it has no balance endpoint"
        ),
        balance_readable=False,
    ),
    ProviderName.CREATIFY: ProviderPrice(
        credits_per_job=None,
        reports_credits=False,
        source=(
            "Creatify's product-to-video documents state no price and report no credits per task, "
            "and have no balance endpoint: no credits are recorded"
        ),
        balance_readable=False,
    ),
}

#: the stages each provider runs for a job (Creatify: image, then video unless stop_after=image)
STAGES: dict[ProviderName, int] = {ProviderName.PRODVISUAL: 1, ProviderName.JOGG: 2, ProviderName.CREATIFY: 2}


# -- AWS list prices (USD, us-east-1, on demand) ----------------------------------------------------

AWS_PRICES_AS_OF = date(2025, 1, 15)

#: Step Functions Standard: $0.025 per 1,000 state transitions
SFN_PER_TRANSITION = 0.025 / 1_000
#: Lambda: $0.20 per 1M requests; arm64 duration $0.0000133334 per GB-second
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_ARM_PER_GB_SECOND = 0.0000133334
#: API Gateway HTTP API: $1.00 per million requests (first 300 million a month)
HTTP_API_PER_REQUEST = 1.00 / 1_000_000
#: DynamoDB on-demand: $0.625 per million write request units, $0.125 per million read request units
DYNAMODB_PER_WRITE = 0.625 / 1_000_000
DYNAMODB_PER_READ = 0.125 / 1_000_000
#: S3 Standard: PUT/COPY/POST/LIST $0.005 per 1,000 requests, GET $0.0004 per 1,000, $0.023 per GB-month
S3_PER_PUT = 0.005 / 1_000
S3_PER_GET = 0.0004 / 1_000
S3_PER_GB_MONTH = 0.023


@dataclass(frozen=True)
class AwsUsage:
    """The AWS requests one job makes (counted from the state machine and the functions)."""

    transitions: int
    lambda_invocations: int
    lambda_gb_seconds: float
    api_requests: int
    dynamodb_writes: int
    dynamodb_reads: int
    s3_puts: int
    s3_gets: int
    stored_bytes: int

    def usd(self) -> float:
        cost = (
            self.transitions * SFN_PER_TRANSITION
            + self.lambda_invocations * LAMBDA_PER_REQUEST
            + self.lambda_gb_seconds * LAMBDA_ARM_PER_GB_SECOND
            + self.api_requests * HTTP_API_PER_REQUEST
            + self.dynamodb_writes * DYNAMODB_PER_WRITE
            + self.dynamodb_reads * DYNAMODB_PER_READ
            + self.s3_puts * S3_PER_PUT
            + self.s3_gets * S3_PER_GET
            + self.stored_bytes / 1024**3 * S3_PER_GB_MONTH
        )
        return round(cost, 8)


#: the functions' memory (template.yaml Globals: 512 MB) and a typical task's duration
_GB = 0.5
_SECONDS_PER_TASK = 0.4


def aws_usage(*, stages: int, polls: int, outputs: int, stored_bytes: int) -> AwsUsage:
    """The AWS requests of a job with ``stages`` provider stages and ``polls`` status polls.

    From ``statemachine/job.asl.json``: a one-stage job answered by callback runs Submit, Route,
    AwaitProvider, CheckAfterCallback, Route, ArchiveOutputs, NotifyClient, Finish and Succeeded
    (9 transitions, 5 functions, plus the provider webhook, the client webhook's delivery and the
    create request); each further stage adds AdvanceStage, Route, AwaitProvider,
    CheckAfterCallback, Route (5 transitions, 3 functions); each poll without a callback adds
    PollProvider, Route, AwaitProvider (3 transitions, 2 functions). Each function reads and
    writes the job about twice; S3 takes the product image and each output, and the provider
    fetches the product image once.
    """
    extra = max(0, stages - 1)
    invocations = 5 + 3 + 3 * extra + 2 * polls
    return AwsUsage(
        transitions=9 + 5 * extra + 3 * polls,
        lambda_invocations=invocations,
        lambda_gb_seconds=invocations * _SECONDS_PER_TASK * _GB,
        api_requests=1,
        dynamodb_writes=2 * invocations,
        dynamodb_reads=2 * invocations,
        s3_puts=1 + outputs,
        s3_gets=1,
        stored_bytes=stored_bytes,
    )
