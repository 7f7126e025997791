"""The web console in headless Chromium: sign in with a key, upload a product image, watch the job,
see the image and play the video the job made, list, filter, cancel and regenerate."""

from __future__ import annotations

import base64
import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from local.sample_shop import SampleShop
from local.sandboxes.media import sample_product
from local.stack import LocalStack
from playwright.sync_api import Page, Response, expect

from tests.e2e.browser import browser, page  # noqa: F401 - fixtures
from tests.e2e.conftest import Client, fast_sandboxes, sandbox_settings

JOB_TIMEOUT_MS = 90_000
EVENTS = Path(__file__).resolve().parents[2] / "events"
#: events/ samples of ConsoleFunction -> the content type and a text their answer holds
CONSOLE_EVENTS = {
    "console_page.json": ("text/html", "mediajobs console"),
    "console_asset.json": ("text/javascript", "sessionStorage"),
    "console_swagger_asset.json": ("text/css", ".swagger-ui"),
}


@pytest.fixture
def fast(stack: LocalStack) -> Iterator[None]:
    with fast_sandboxes(stack):
        yield


@pytest.fixture
def product_png(tmp_path: Path) -> Path:
    path = tmp_path / "kettle.png"
    sample_product((640, 480)).save(path, format="PNG")
    return path


def sign_in(page: Page, stack: LocalStack) -> None:  # noqa: F811 - fixture name
    page.goto(f"{stack.api_url}/console")
    page.fill("#api-key", stack.api_key)
    page.click("#sign-in-form button[type=submit]")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#provider option")).to_have_count(3)


def drop_file(page: Page, selector: str, path: Path, mime: str) -> None:  # noqa: F811
    """What a drag and drop from the desktop delivers: a drop event whose DataTransfer holds the file."""
    page.evaluate(
        """([selector, name, mime, data]) => {
            const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, {type: mime}));
            document.querySelector(selector).dispatchEvent(
                new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""",
        [selector, path.name, mime, base64.b64encode(path.read_bytes()).decode()],
    )


def finished_job(page: Page, client: Client) -> dict[str, Any]:  # noqa: F811
    expect(page.locator("#detail")).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    return client.job(page.inner_text("#detail-id"))


def test_given_a_signed_in_user_when_an_image_is_dropped_for_prodvisual_then_the_page_shows_the_image(
    stack: LocalStack,
    page: Page,  # noqa: F811
    client: Client,
    fast: None,
    product_png: Path,
) -> None:
    # Given a user signed in with the API key (kept in this tab's session storage only)
    sign_in(page, stack)
    assert page.evaluate("sessionStorage.getItem('mediajobs.apiKey')") == stack.api_key

    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))  # noqa: PLW0108 - Playwright cannot wrap a builtin method

    # When they pick ProdVisual and a catalog style, drop a PNG and start the job
    page.select_option("#provider", "prodvisual")
    style = page.locator("select[data-option=style]")
    expect(style.locator("option[value=white_bg]")).to_have_count(1)
    style.select_option("white_bg")
    page.select_option("select[data-option=format]", "png")
    drop_file(page, "#drop-zone", product_png, "image/png")
    expect(page.locator("#drop-zone")).to_have_class("has-file")
    page.click("#submit")

    # Then the job went through an upload, succeeded, and its image loaded in the page
    job = finished_job(page, client)
    assert job["provider"] == "prodvisual"
    created = [r for r in responses if r.request.method == "POST" and "/v1/uploads" in r.url]
    assert [r.status for r in created] == [201]
    upload = created[0].json()
    to_s3 = [r for r in responses if r.request.method == "POST" and r.url == upload["url"]]
    assert [r.status for r in to_s3] == [204]  # the cross-origin form POST, its answer readable
    assert client.http.get(f"/v1/uploads/{upload['upload_id']}").json()["job_id"] == job["job_id"]
    image = page.locator("#outputs img.output").first
    expect(image).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    output = next(o for o in job["outputs"] if o["kind"] == "image")
    assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [
        output["width"],
        output["height"],
    ]
    # and the job is in the list
    expect(page.locator(f"#job-rows tr[data-job='{job['job_id']}']")).to_have_count(1)


def test_given_a_signed_in_user_when_a_file_is_chosen_for_creatify_then_the_video_plays(
    stack: LocalStack,
    page: Page,  # noqa: F811
    client: Client,
    fast: None,
    product_png: Path,
) -> None:
    # Given a signed-in user
    sign_in(page, stack)

    # When they choose a file for a Creatify product video and start the job
    page.select_option("#provider", "creatify")
    page.set_input_files("#file", product_png)
    page.fill("#title", "Steel kettle")
    page.click("#submit")

    # Then the job's preview image and its H.264 video both loaded
    job = finished_job(page, client)
    video_output = next(o for o in job["outputs"] if o["kind"] == "video")
    assert (video_output["content_type"], video_output["codec"]) == ("video/mp4", "h264")
    video = page.locator("#outputs video.output").first
    expect(video).to_be_visible()
    page.wait_for_function("v => v.readyState >= 2", arg=video.element_handle(), timeout=30_000)
    width, height, duration = video.evaluate("v => [v.videoWidth, v.videoHeight, v.duration]")
    assert [width, height] == [video_output["width"], video_output["height"]]
    assert duration == pytest.approx(video_output["duration_seconds"], abs=0.2)
    played = video.evaluate(
        "v => v.play().then(() => new Promise(r => setTimeout(r, 400))).then(() => v.currentTime)"
    )
    assert played > 0
    preview = page.locator("#outputs img.output").first
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=preview.element_handle())
    screenshot = os.environ.get("CONSOLE_SCREENSHOT")
    if screenshot:  # the README's picture: make e2e PYTEST_ARGS=... CONSOLE_SCREENSHOT=docs/console.png
        page.screenshot(path=screenshot, full_page=True)


def test_given_a_wrong_key_when_signing_in_then_the_page_says_so_and_stores_nothing(
    stack: LocalStack,
    page: Page,  # noqa: F811
) -> None:
    # When a user signs in with a key the API does not know
    page.goto(f"{stack.api_url}/console")
    page.fill("#api-key", "not-a-key")
    page.click("#sign-in-form button[type=submit]")

    # Then the console stays closed, says why, and keeps no key
    expect(page.locator("#sign-in-error")).to_contain_text("refused")
    expect(page.locator("#app")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('mediajobs.apiKey')") is None


def test_given_past_jobs_when_filtered_by_provider_then_only_that_providers_jobs_are_listed(
    stack: LocalStack,
    page: Page,  # noqa: F811
    client: Client,
    shop: SampleShop,
    fast: None,
) -> None:
    # Given one finished job per provider, made through the API
    made = {
        "jogg": client.run({"provider": "jogg", "product": {"page_url": shop.url("page.html")}}),
        "prodvisual": client.run(
            {
                "provider": "prodvisual",
                "product": {"image_url": shop.url("product.png")},
                "options": {"style": "mockup"},
            }
        ),
    }
    sign_in(page, stack)

    # When the list is filtered on JoggAI
    page.select_option("#filter-provider", "jogg")
    page.click("#filters button[type=submit]")

    # Then every row is a JoggAI job, and the JoggAI job made above is among them
    rows = page.locator("#job-rows tr")
    expect(rows.filter(has_text="prodvisual")).to_have_count(0)
    expect(page.locator(f"#job-rows tr[data-job='{made['jogg']['job_id']}']")).to_have_count(1)
    assert rows.count() >= 1


def test_given_a_running_job_when_cancel_is_clicked_then_it_ends_cancelled(
    stack: LocalStack,
    page: Page,  # noqa: F811
    client: Client,
    shop: SampleShop,
) -> None:
    # Given a ProdVisual job that takes long enough to be cancelled while it runs
    assert stack.sandboxes is not None
    with sandbox_settings(stack.sandboxes.prodvisual, pending_seconds=0.2, processing_seconds=30.0):
        job = client.create(
            {
                "provider": "prodvisual",
                "product": {"image_url": shop.url("product.png")},
                "options": {"style": "lifestyle"},
            }
        )
        sign_in(page, stack)
        page.click(f"#job-rows tr[data-job='{job['job_id']}']")
        expect(page.locator("#detail-id")).to_have_text(job["job_id"])
        expect(page.locator("#cancel")).to_be_enabled()

        # When the user cancels it
        page.click("#cancel")

        # Then it ends cancelled, in the page and in the API, and cannot be regenerated
        expect(page.locator("#detail")).to_have_attribute("data-status", "cancelled", timeout=JOB_TIMEOUT_MS)
        assert client.job(job["job_id"])["status"] == "cancelled"
        expect(page.locator("#cancel")).to_be_disabled()
        expect(page.locator("#regenerate")).to_be_disabled()


def test_given_a_succeeded_job_when_regenerate_is_clicked_then_a_new_job_follows_it(
    stack: LocalStack,
    page: Page,  # noqa: F811
    client: Client,
    shop: SampleShop,
    fast: None,
) -> None:
    # Given a succeeded ProdVisual job, open in the console
    job = client.run(
        {
            "provider": "prodvisual",
            "product": {"image_url": shop.url("product.png")},
            "options": {"style": "mockup"},
        }
    )
    sign_in(page, stack)
    page.click(f"#job-rows tr[data-job='{job['job_id']}']")
    expect(page.locator("#detail")).to_have_attribute("data-status", "succeeded")

    # When the user asks for a regeneration in another catalog style
    page.click("#regenerate")
    page.select_option("#regen-form select[name=style]", "white_bg")
    page.click("#regen-form button[type=submit]")

    # Then the page follows a new job, regenerated from the first, to success with its own image
    expect(page.locator("#detail-id")).not_to_have_text(job["job_id"])
    new = finished_job(page, client)
    assert new["regenerated_from"] == job["job_id"]
    image = page.locator("#outputs img.output").first
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert new["job_id"] in (image.get_attribute("src") or "")


@pytest.mark.parametrize(("name", "expected"), CONSOLE_EVENTS.items())
def test_given_a_sample_event_when_the_console_function_runs_it_then_it_answers_its_file(
    stack: LocalStack, name: str, expected: tuple[str, str]
) -> None:
    # Given a sample event of events/ (as sam local invoke -e would send it)
    event = json.loads((EVENTS / name).read_text())

    # When the console function handles it
    answer = stack.invoke("ConsoleFunction", event)

    # Then it answers the file, gzipped when the client accepts it
    content_type, text = expected
    assert answer["statusCode"] == 200
    assert answer["headers"]["Content-Type"].startswith(content_type)
    body = answer["body"]
    if answer.get("isBase64Encoded"):
        body = gzip.decompress(base64.b64decode(body)).decode()
    assert text in body


@pytest.mark.parametrize("name", ["..%2Fapp.py", "index.html", "%2E%2E%2F%2E%2E%2Ftemplate.yaml", "nope.js"])
def test_given_a_name_outside_the_console_files_when_asked_for_then_404(stack: LocalStack, name: str) -> None:
    # When a file name that is not one of the page's files is asked for
    answer = httpx.get(f"{stack.api_url}/console/assets/{name}", timeout=30.0)

    # Then nothing is read from disk for it
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


def test_given_the_console_page_when_served_then_it_holds_no_key_and_only_runs_its_own_scripts(
    stack: LocalStack,
) -> None:
    # When the page is fetched without any key
    answer = httpx.get(f"{stack.api_url}/console", timeout=30.0)

    # Then it is the page, with no API key in it, and a policy that allows only its own scripts
    assert answer.status_code == 200
    assert stack.api_key not in answer.text
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
