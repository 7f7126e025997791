// mediajobs console: a client of the /v1 API on the same origin, signed in with a pasted API key.
"use strict";

const KEY_STORAGE = "mediajobs.apiKey";
const FINAL = new Set(["succeeded", "failed", "cancelled"]);
const POLL_MS = 1000;

const $ = (id) => document.getElementById(id);
const state = { providers: [], styles: null, file: null, jobId: null, job: null, timer: null, cursor: null };

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.error && body.error.code;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY_STORAGE) || ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const answer = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await answer.text();
  const parsed = text ? JSON.parse(text) : null;
  if (answer.status === 401) signOut("Your API key was refused: sign in again.");
  if (!answer.ok) throw new ApiError(answer.status, parsed);
  return parsed;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

// --- sign in ---------------------------------------------------------------------------------

function signOut(message = "") {
  sessionStorage.removeItem(KEY_STORAGE);
  clearTimeout(state.timer);
  $("app").hidden = true;
  $("sign-out").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message;
}

async function signIn(key) {
  sessionStorage.setItem(KEY_STORAGE, key);
  try {
    state.providers = (await api("GET", "/v1/providers")).providers;
  } catch (error) {
    if (error.status !== 401) signOut(error.message);
    return;
  }
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  $("sign-in-error").textContent = "";
  fillProviders();
  await loadJobs(true);
}

// --- provider and options ----------------------------------------------------------------------

function fillProviders() {
  const select = $("provider");
  const filter = $("filter-provider");
  select.replaceChildren();
  filter.replaceChildren(el("option", { value: "", text: "any" }));
  for (const p of state.providers) {
    select.append(el("option", { value: p.provider, text: p.name }));
    filter.append(el("option", { value: p.provider, text: p.name }));
  }
  showOptions();
}

function resolve(schema, defs) {
  if (schema.$ref) return defs[schema.$ref.split("/").pop()] || {};
  if (schema.anyOf) {
    const real = schema.anyOf.find((s) => s.type !== "null");
    return real ? resolve(real, defs) : {};
  }
  return schema;
}

async function showOptions() {
  const provider = state.providers.find((p) => p.provider === $("provider").value);
  const fieldset = $("options");
  fieldset.replaceChildren(el("legend", { text: "Options" }));
  if (!provider) return;
  $("provider-description").textContent = provider.description;
  const schema = provider.options_schema;
  const defs = schema.$defs || {};
  const required = new Set(schema.required || []);
  let styles = null;
  if (provider.styles_url) styles = state.styles = state.styles || (await api("GET", provider.styles_url)).styles;
  for (const [name, raw] of Object.entries(schema.properties || {})) {
    const field = resolve(raw, defs);
    const fallback = raw.default === undefined || raw.default === null ? "" : String(raw.default);
    let input;
    if (name === "style" && styles) {
      input = el("select", { "data-option": name });
      for (const s of styles) input.append(el("option", { value: s.id, text: s.name }));
    } else if (field.enum) {
      input = el("select", { "data-option": name, "data-type": typeof field.enum[0] });
      if (!required.has(name)) input.append(el("option", { value: "", text: "(default)" }));
      for (const v of field.enum) input.append(el("option", { value: String(v), text: String(v) }));
      input.value = fallback;
    } else if (field.type === "boolean") {
      input = el("select", { "data-option": name, "data-type": "boolean" });
      for (const [v, t] of [["", "(default)"], ["true", "yes"], ["false", "no"]]) {
        input.append(el("option", { value: v, text: t }));
      }
    } else {
      const numeric = field.type === "integer" || field.type === "number";
      input = el("input", { "data-option": name, "data-type": numeric ? "number" : "string",
        type: numeric ? "number" : "text", placeholder: fallback });
      if (field.maxLength) input.maxLength = field.maxLength;
    }
    fieldset.append(el("label", {}, name.replaceAll("_", " ") + " ", input));
  }
}

function options() {
  const result = {};
  for (const input of document.querySelectorAll("[data-option]")) {
    if (input.value === "") continue;
    const type = input.dataset.type;
    result[input.dataset.option] =
      type === "number" ? Number(input.value) : type === "boolean" ? input.value === "true" : input.value;
  }
  return result;
}

// --- product image: a dropped file (presigned POST to S3) or a URL -----------------------------

function setFile(file) {
  state.file = file;
  $("drop-label").firstChild.textContent = file
    ? `${file.name} (${Math.round(file.size / 1024)} KB) `
    : "Drop a product image here (JPEG, PNG, WebP) or ";
  $("clear-file").hidden = !file;
  $("drop-zone").classList.toggle("has-file", Boolean(file));
}

async function uploadAndStart(spec) {
  const query = new URLSearchParams({ filename: state.file.name });
  const upload = await api("POST", `/v1/uploads?${query}`, spec);
  const form = new FormData();
  if (!("Content-Type" in upload.fields)) form.append("Content-Type", state.file.type);
  for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
  form.append("file", state.file);  // S3 wants the file last
  const answer = await fetch(upload.url, { method: "POST", body: form });
  if (!answer.ok) throw new Error(`the upload was refused (HTTP ${answer.status})`);
  for (let i = 0; i < 120; i += 1) {
    const seen = await api("GET", upload.links.self);
    if (seen.job_id) return seen.job_id;
    if (seen.status === "failed") throw new Error(seen.error ? seen.error.message : "the upload failed");
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error("the upload did not start a job in time");
}

async function submitJob(event) {
  event.preventDefault();
  $("job-error").textContent = "";
  $("submit").disabled = true;
  const product = {};
  for (const [id, name] of [["image-url", "image_url"], ["page-url", "page_url"], ["title", "title"]]) {
    if ($(id).value) product[name] = $(id).value;
  }
  const spec = { provider: $("provider").value, options: options() };
  try {
    let jobId;
    if (state.file) {
      delete product.image_url;  // the file is the image
      jobId = await uploadAndStart({ ...spec, product });
      setFile(null);
    } else {
      jobId = (await api("POST", "/v1/jobs", { ...spec, product })).job_id;
    }
    await watch(jobId);
    await loadJobs(true);
  } catch (error) {
    $("job-error").textContent = error.message;
  } finally {
    $("submit").disabled = false;
  }
}

// --- one job, live -----------------------------------------------------------------------------

function outputNode(output) {
  const caption = `${output.kind} · ${output.content_type} · ${Math.round(output.bytes / 1024)} KB` +
    (output.width ? ` · ${output.width}×${output.height}` : "") +
    (output.duration_seconds ? ` · ${output.duration_seconds.toFixed(1)} s` : "");
  const media = output.content_type.startsWith("video/")
    ? el("video", { controls: "", preload: "auto", muted: "", playsinline: "", class: "output" })
    : el("img", { alt: `${output.kind} output`, class: "output" });
  media.dataset.kind = output.kind;
  media.src = output.download_url;
  return el("figure", {}, media,
    el("figcaption", {}, caption + " · ", el("a", { href: output.download_url, text: "download" })));
}

function render(job) {
  if (!state.job || state.job.job_id !== job.job_id) $("regen-form").hidden = true;
  state.job = job;
  $("detail").hidden = false;
  $("detail").dataset.status = job.status;
  $("detail-id").textContent = job.job_id;
  $("detail-status").textContent = job.status;
  $("detail-status").className = `status ${job.status}`;
  $("detail-stage").textContent = job.stage ? `stage ${job.stage}` : "";
  $("detail-error").textContent = job.error ? `${job.error.code}: ${job.error.message}` : "";
  $("cancel").disabled = FINAL.has(job.status);
  $("regenerate").disabled = job.status !== "succeeded";  // the API regenerates succeeded jobs only
  $("timeline").replaceChildren(...job.timeline.map((t) =>
    el("li", { text: `${new Date(t.at).toLocaleTimeString()} ${t.status || ""} ${t.stage || ""} ${t.detail || ""}`.trim() })));
  const shown = $("outputs").dataset.job === job.job_id && $("outputs").childElementCount === job.outputs.length;
  if (!shown) {  // new media elements only when the outputs change (a poll must not restart a video)
    $("outputs").replaceChildren(...job.outputs.map(outputNode));
    $("outputs").dataset.job = job.job_id;
  }
}

async function watch(jobId) {
  clearTimeout(state.timer);
  state.jobId = jobId;
  $("outputs").replaceChildren();
  const tick = async () => {
    if (state.jobId !== jobId) return;
    try {
      const job = await api("GET", `/v1/jobs/${encodeURIComponent(jobId)}`);
      render(job);
      if (FINAL.has(job.status)) {
        await loadJobs(true);
        return;
      }
    } catch (error) {
      $("detail-error").textContent = error.message;
    }
    state.timer = setTimeout(tick, POLL_MS);
  };
  await tick();
}

// what a regeneration changes, per provider (see RegenerateRequest in the API docs)
async function regenerateField(job) {
  const provider = state.providers.find((p) => p.provider === job.provider);
  if (job.provider === "prodvisual") {
    const styles = state.styles = state.styles || (await api("GET", provider.styles_url)).styles;
    const select = el("select", { name: "style" });
    for (const s of styles) select.append(el("option", { value: s.id, text: s.name }));
    return el("label", {}, "new style ", select);
  }
  if (job.provider === "jogg") {
    const select = el("select", { name: "script_style" });
    for (const v of provider.options_schema.$defs.ScriptStyle.enum) select.append(el("option", { value: v, text: v }));
    return el("label", {}, "new script style ", select);
  }
  return el("label", {}, "new preview image prompt ",
    el("input", { name: "image_prompt", required: "", maxlength: "2000", placeholder: "the kettle on a sunny kitchen table" }));
}

async function act(action) {
  try {
    if (action === "cancel") {
      render(await api("POST", `/v1/jobs/${state.jobId}/cancel`));
      await watch(state.jobId);
    } else if (action === "regenerate") {
      $("regen-field").replaceChildren(await regenerateField(state.job));
      $("regen-form").hidden = false;
      return;
    } else {
      const input = $("regen-field").querySelector("[name]");
      $("regen-form").hidden = true;
      await watch((await api("POST", `/v1/jobs/${state.jobId}/regenerate`, { [input.name]: input.value })).job_id);
    }
    await loadJobs(true);
  } catch (error) {
    $("detail-error").textContent = error.message;
  }
}

// --- past jobs ---------------------------------------------------------------------------------

async function loadJobs(fresh) {
  const query = new URLSearchParams({ limit: "20" });
  if ($("filter-status").value) query.set("status", $("filter-status").value);
  if ($("filter-provider").value) query.set("provider", $("filter-provider").value);
  if (!fresh && state.cursor) query.set("cursor", state.cursor);
  const page = await api("GET", `/v1/jobs?${query}`);
  const rows = page.jobs.map((job) => {
    const row = el("tr", { "data-job": job.job_id },
      el("td", {}, el("code", { text: job.job_id.slice(0, 12) })), el("td", { text: job.provider }),
      el("td", {}, el("span", { class: `status ${job.status}`, text: job.status })),
      el("td", { text: job.stage || "" }), el("td", { text: new Date(job.created_at).toLocaleString() }));
    row.addEventListener("click", () => watch(job.job_id));
    return row;
  });
  if (fresh) $("job-rows").replaceChildren(...rows);
  else $("job-rows").append(...rows);
  state.cursor = page.next_cursor;
  $("more").hidden = !page.next_cursor;
}

// --- wiring ------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in-form").addEventListener("submit", (e) => { e.preventDefault(); signIn($("api-key").value.trim()); });
  $("sign-out").addEventListener("click", () => signOut());
  $("provider").addEventListener("change", showOptions);
  $("job-form").addEventListener("submit", submitJob);
  $("file").addEventListener("change", () => setFile($("file").files[0] || null));
  $("clear-file").addEventListener("click", () => setFile(null));
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer.files.length) setFile(e.dataTransfer.files[0]);
  });
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); loadJobs(true); });
  $("more").addEventListener("click", () => loadJobs(false));
  $("cancel").addEventListener("click", () => act("cancel"));
  $("regenerate").addEventListener("click", () => act("regenerate"));
  $("regen-form").addEventListener("submit", (e) => { e.preventDefault(); act("regenerate-start"); });
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) signIn(key);
});
