// Calls to Convoy's JSON API, sent in the name of the person using this browser.

const ACTOR_KEY = "convoy.actor";
const DEFAULT_ACTOR = "release-manager";
// When Convoy is configured with an API token, changes need it. It is kept for this browser
// session only, never in localStorage.
const TOKEN_KEY = "convoy.apiToken";

export function actor() {
  return localStorage.getItem(ACTOR_KEY) || DEFAULT_ACTOR;
}

export function setActor(name) {
  const trimmed = (name || "").trim();
  if (trimmed) localStorage.setItem(ACTOR_KEY, trimmed);
}

// An error the API explained in a sentence meant for the user.
export class ApiError extends Error {}

// Sends a request; resolves to the parsed JSON body (or null), rejects with an ApiError whose
// message is the API's sentence.
export async function api(method, path, body) {
  try {
    return await send(method, path, body);
  } catch (err) {
    if (!(err instanceof Unauthorized)) throw err;
    const token = window.prompt("This Convoy needs its API token for changes. Paste your token:");
    if (!token || !token.trim()) throw new ApiError(err.message);
    sessionStorage.setItem(TOKEN_KEY, token.trim());
    return send(method, path, body);
  }
}

// The API refused the request for a missing or wrong API token.
class Unauthorized extends ApiError {}

async function send(method, path, body) {
  const headers = { "X-Convoy-Actor": actor(), Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError("Convoy cannot be reached. Check your connection and try again.");
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (err) {
      data = null;
    }
  }
  if (!response.ok) {
    const sentence = data && typeof data.error === "string" ? data.error : `The request failed (HTTP ${response.status}).`;
    if (response.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      throw new Unauthorized(sentence);
    }
    throw new ApiError(sentence);
  }
  return data;
}

// Wires the "acting as" control in the page header.
export function initActorControl() {
  const label = document.getElementById("actor-name");
  const button = document.getElementById("actor-change");
  if (!label || !button) return;
  label.textContent = actor();
  button.addEventListener("click", () => {
    const name = window.prompt("Your name, recorded with every action you take:", actor());
    if (name !== null) {
      setActor(name);
      label.textContent = actor();
    }
  });
}
