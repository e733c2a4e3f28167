// The tokens page: create a token (its secret is shown once), list and revoke yours.

import { api, initActorControl } from "./api.js";
import { el } from "./dom.js";

async function load() {
  let list;
  try {
    list = await api("GET", "/api/v1/tokens");
  } catch (err) {
    document.getElementById("form-error").textContent = err.message;
    return;
  }
  const rows = list.tokens.map((token) =>
    el("tr", { "data-id": token.id },
      el("td", {}, token.name),
      el("td", {}, token.read_only ? "read-only" : "your roles"),
      el("td", { class: "mono" }, token.created_at),
      el("td", { class: "mono" }, token.expires_at),
      el("td", {}, token.revoked_at ? "revoked" : "active"),
      el("td", {}, token.revoked_at ? null : el("button", {
        type: "button",
        class: "danger",
        onclick: async () => {
          try {
            await api("DELETE", `/api/v1/tokens/${token.id}`);
          } catch (err) {
            document.getElementById("form-error").textContent = err.message;
          }
          load();
        },
      }, "Revoke"))));
  document.getElementById("tokens").replaceChildren(...rows);
}

document.getElementById("new-token").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const error = document.getElementById("form-error");
  error.textContent = "";
  try {
    const created = await api("POST", "/api/v1/tokens", {
      name: form.name.value.trim(),
      expires_in_days: Number(form.expires_in_days.value),
      read_only: form.read_only.checked,
    });
    document.getElementById("token-secret").textContent = created.token;
    document.getElementById("token-created").hidden = false;
    form.reset();
  } catch (err) {
    error.textContent = err.message;
  }
  load();
});

initActorControl();
load();
