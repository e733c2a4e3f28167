// The admins' tokens page: every person's tokens, and revoking any of them.

import { api } from "./api.js";
import { el } from "./dom.js";

function showError(err) {
  document.getElementById("form-error").textContent = err.message;
}

async function load() {
  let list;
  try {
    list = await api("GET", "/api/v1/admin/tokens");
  } catch (err) {
    showError(err);
    return;
  }
  const rows = list.tokens.map((token) =>
    el("tr", { "data-id": token.id },
      el("td", {}, token.name),
      el("td", {}, `${token.owner.name} (@${token.owner.username})`),
      el("td", {}, token.read_only ? "read-only" : "owner's roles"),
      el("td", { class: "mono" }, token.created_at),
      el("td", { class: "mono" }, token.expires_at),
      el("td", { class: "mono" }, token.last_used_at ?? "never"),
      el("td", {}, token.revoked_at ? "revoked" : "active"),
      el("td", {}, token.revoked_at ? null : el("button", {
        type: "button",
        class: "danger",
        onclick: async () => {
          try {
            await api("DELETE", `/api/v1/admin/tokens/${token.id}`);
          } catch (err) {
            showError(err);
          }
          load();
        },
      }, "Revoke"))));
  document.getElementById("tokens").replaceChildren(...rows);
}

load();
