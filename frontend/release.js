// The release page: summary, actions, DAG, component table and timeline. The server renders
// the first paint; from then on, every event from the websocket re-renders the page from a fresh
// GET /api/v1/releases/{id} (debounced), which is simple and always correct.

import { api, initActorControl } from "./api.js";
import { el, stateBadge, formatTime, debounce } from "./dom.js";
import { renderDag } from "./dag.js";
import { connectLive, showLiveStatus } from "./live.js";
import { timelineItem } from "./timeline.js";

const root = document.getElementById("release");
const releaseId = root.dataset.releaseId;
const base = `/api/v1/releases/${releaseId}`;

let detail = JSON.parse(document.getElementById("release-data").textContent);
let selected = null;
// Versions typed but not saved yet, by component name: a re-render must not wipe them.
const drafts = new Map();
// What the signed-in person may do here; only those actions are shown (the server checks
// again on every change).
let mine = { release_manager: false, owns: [] };
// A component's owner may mark it reviewed and retry it; the release manager may do anything.
const OWNER_ACTIONS = new Set(["mark_reviewed", "retry"]);

// "owners @a, @b", or "no owner" (also before the worker resolved them).
function ownersText(owners) {
  return (owners || []).length ? `owners ${owners.map((o) => `@${o}`).join(", ")}` : "no owner";
}

function mayComponent(action, name) {
  return mine.release_manager || (OWNER_ACTIONS.has(action) && mine.owns.includes(name));
}

async function loadPermissions() {
  try {
    mine = await api("GET", `${base}/permissions`);
  } catch (err) {
    mine = { release_manager: false, owns: [] };
  }
  render();
}

const RELEASE_ACTIONS = [
  { action: "deploy", label: "Deploy all", primary: true, path: "/deploy" },
  { action: "retry", label: "Retry", path: "/retry" },
  { action: "cancel", label: "Cancel release", danger: true, path: "/cancel", confirm: "Cancel this release? Unfinished components will be canceled." },
];

const NO_PLAN = "No components yet: the plan appears once the app's Podfile has been analyzed.";

const COMPONENT_ACTIONS = [
  { action: "deploy", label: "Deploy", primary: true, path: "deploy" },
  { action: "mark_reviewed", label: "Mark reviewed", path: "reviewed" },
  { action: "mark_released", label: "Mark released…", path: "released", askReason: true },
  { action: "retry", label: "Retry", path: "retry" },
  { action: "cancel", label: "Cancel", danger: true, path: "cancel", confirm: "Cancel this component?" },
];

function flash(message) {
  document.getElementById("flash").textContent = message || "";
}

async function act(method, path, body) {
  flash("");
  try {
    await api(method, path, body);
  } catch (err) {
    flash(err.message);
    return false;
  }
  refresh();
  return true;
}

function componentPath(name) {
  return `${base}/components/${encodeURIComponent(name)}`;
}

// Asks why a component is marked released; resolves to the reason, or null when dismissed.
function askReason(name) {
  const dialog = document.getElementById("reason-dialog");
  const input = dialog.querySelector("textarea");
  const error = dialog.querySelector(".error");
  dialog.querySelector(".component-name").textContent = name;
  input.value = "";
  error.textContent = "";
  dialog.showModal();
  return new Promise((resolve) => {
    const form = dialog.querySelector("form");
    const cancel = dialog.querySelector("button[value=cancel]");
    function finish(value) {
      form.removeEventListener("submit", submit);
      cancel.removeEventListener("click", dismiss);
      dialog.removeEventListener("cancel", dismiss);
      dialog.close();
      resolve(value);
    }
    function submit(e) {
      e.preventDefault();
      const reason = input.value.trim();
      if (!reason) {
        error.textContent = "Say why it is released, e.g. \"released by hand by the payments team\".";
        return;
      }
      finish(reason);
    }
    function dismiss(e) {
      e.preventDefault();
      finish(null);
    }
    input.oninput = () => { error.textContent = ""; };
    form.addEventListener("submit", submit);
    cancel.addEventListener("click", dismiss);
    dialog.addEventListener("cancel", dismiss);
  });
}

async function componentAction(component, spec) {
  if (spec.confirm && !window.confirm(spec.confirm)) return;
  let body;
  if (spec.askReason) {
    const reason = await askReason(component.name);
    if (reason === null) return;
    body = { reason };
  }
  await act("POST", `${componentPath(component.name)}/${spec.path}`, body);
}

async function saveVersion(name, version) {
  if (await act("PUT", `${componentPath(name)}/version`, { version })) drafts.delete(name);
}

function renderSummary() {
  document.getElementById("release-state").replaceChildren(stateBadge(detail.state));
  const { released, total } = detail.progress;
  const percent = total ? Math.round((released / total) * 100) : 0;
  document.getElementById("release-progress").replaceChildren(
    el("span", { class: "progress-bar", role: "progressbar", "aria-valuenow": released, "aria-valuemax": total },
      progressFill(percent)),
    `${released} of ${total} released`,
  );
  document.getElementById("release-finished").textContent = detail.finished_at ? ` · finished ${formatTime(detail.finished_at)}` : "";
  const reason = document.getElementById("release-reason");
  reason.textContent = detail.reason || "";
  reason.dataset.state = detail.state;

  const buttons = RELEASE_ACTIONS.filter((spec) => mine.release_manager && detail.actions.includes(spec.action)).map((spec) =>
    el("button", {
      type: "button",
      class: spec.primary ? "primary" : spec.danger ? "danger" : null,
      "data-action": spec.action,
      onclick: () => {
        if (spec.confirm && !window.confirm(spec.confirm)) return;
        act("POST", `${base}${spec.path}`);
      },
    }, spec.label));
  document.getElementById("release-actions").replaceChildren(...buttons);
}

// The bar's fill; its width is set through the DOM, which the page's CSP allows (a style
// attribute would not be).
function progressFill(percent) {
  const fill = el("span", {});
  fill.style.width = `${percent}%`;
  return fill;
}

function link(url, text) {
  return url ? el("a", { href: url, target: "_blank", rel: "noopener" }, text) : text;
}

// Why a component is where it is, in a sentence or two: what blocks it (a failure upstream
// that will not clear by itself) first, then the reason the worker gave.
function reasonOf(c) {
  const parts = [];
  const blocked = c.blocked_by || [];
  if (blocked.length && !(c.reason || "").includes("blocked")) parts.push(`blocked by ${blocked.join(", ")}`);
  if (c.reason) parts.push(c.reason);
  else if ((c.waiting_on || []).length) parts.push(`waiting for ${c.waiting_on.join(", ")}`);
  return parts.join("; ");
}

function versionCell(c) {
  if (!c.actions.includes("edit_version") || !mine.release_manager) {
    return el("td", { class: "mono" }, c.version || "—");
  }
  const input = el("input", {
    type: "text",
    class: "version",
    value: drafts.has(c.name) ? drafts.get(c.name) : c.version || "",
    "aria-label": `Version of ${c.name}`,
    "data-name": c.name,
    oninput: (e) => drafts.set(c.name, e.target.value),
  });
  const form = el("form", { class: "version-form", onsubmit: (e) => { e.preventDefault(); saveVersion(c.name, input.value.trim()); } },
    input, " ", el("button", { type: "submit" }, "Save"));
  const hint = c.default_version && c.default_version !== c.version ? el("div", { class: "muted" }, `default ${c.default_version}`) : null;
  return el("td", {}, form, hint);
}

function componentRow(c) {
  const mr = c.merge_request;
  const pipeline = c.pipeline;
  const buttons = COMPONENT_ACTIONS.filter((spec) => c.actions.includes(spec.action) && mayComponent(spec.action, c.name)).map((spec) =>
    el("button", {
      type: "button",
      class: spec.primary ? "primary" : spec.danger ? "danger" : null,
      "data-action": spec.action,
      onclick: () => componentAction(c, spec),
    }, spec.label));
  return el("tr", { "data-name": c.name, "data-state": c.state, class: selected === c.name ? "highlight" : null },
    el("td", {},
      el("strong", {}, c.name),
      el("div", { class: "muted" }, c.project_path),
      (c.dependencies || []).length ? el("div", { class: "muted" }, `needs ${c.dependencies.join(", ")}`) : null,
      el("div", { class: "muted owners" }, ownersText(c.owners))),
    el("td", {}, stateBadge(c.state)),
    versionCell(c),
    el("td", {}, c.reviewed ? "yes" : "no"),
    el("td", {}, mr ? [link(mr.web_url, `!${mr.iid}`), " ", mr.state] : "—"),
    el("td", {}, pipeline ? [link(pipeline.web_url, `#${pipeline.id}`), ` ${pipeline.kind === "tag" ? "tag" : "MR"} `, pipeline.status] : "—"),
    el("td", { class: "mono" }, c.tag ? link(c.tag.web_url, c.tag.name) : "—"),
    el("td", { class: "reason" }, reasonOf(c) ? el("div", {}, reasonOf(c)) : null),
    el("td", { class: "actions" }, buttons),
  );
}

function renderTable() {
  // Keep the caret where it was if someone is typing a version.
  const active = document.activeElement;
  const focusName = active && active.classList.contains("version") ? active.dataset.name : null;
  const caret = focusName ? active.selectionStart : null;
  const rows = detail.components.length
    ? detail.components.map(componentRow)
    : [el("tr", {}, el("td", { colspan: 9, class: "muted" }, NO_PLAN))];
  document.getElementById("components").replaceChildren(...rows);
  if (focusName) {
    const input = document.querySelector(`input.version[data-name="${CSS.escape(focusName)}"]`);
    if (input) {
      input.focus();
      input.setSelectionRange(caret, caret);
    }
  }
}

function select(name) {
  selected = selected === name ? null : name;
  render();
  const row = document.querySelector(`tr[data-name="${CSS.escape(name)}"]`);
  if (row && selected) row.scrollIntoView({ block: "nearest", behavior: "smooth" });
}

function render() {
  renderSummary();
  renderDag(document.getElementById("dag"), detail.components, { selected, onSelect: select });
  renderTable();
}

// Fetches the release again; a refresh asked for while one is running runs after it, so the
// page always ends on the newest state.
let running = false;
let again = false;
async function refreshNow() {
  if (running) {
    again = true;
    return;
  }
  running = true;
  try {
    detail = await api("GET", base);
    render();
  } catch (err) {
    flash(err.message);
  } finally {
    running = false;
    if (again) {
      again = false;
      refreshNow();
    }
  }
}
const refresh = debounce(refreshNow, 50);

function onEvent(event) {
  const list = document.getElementById("timeline");
  const empty = list.querySelector(".empty");
  if (empty) empty.remove();
  list.prepend(timelineItem(event));
  refresh();
}

initActorControl();
render();
loadPermissions();
connectLive(`/releases/${releaseId}/live`, {
  after: root.dataset.lastEventId,
  onEvent,
  onStatus: showLiveStatus,
  onReconnect: refresh,
});
