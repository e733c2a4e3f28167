// The new release form: creates the release through the JSON API, then opens its page.

import { api, initActorControl } from "./api.js";

const form = document.getElementById("new-release");
const error = document.getElementById("form-error");

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  error.textContent = "";
  const body = {
    app_project: form.elements.app_project.value.trim(),
    app_ref: form.elements.app_ref.value.trim(),
    require_review: form.elements.require_review.checked,
  };
  if (!body.app_project || !body.app_ref) {
    error.textContent = "Give the app's GitLab project path and the branch or tag to release.";
    return;
  }
  const submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  try {
    const release = await api("POST", "/api/v1/releases", body);
    window.location.assign(`/releases/${release.id}`);
  } catch (err) {
    error.textContent = err.message;
    submit.disabled = false;
  }
});

initActorControl();
