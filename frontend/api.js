// Calls to Convoy's JSON API in the name of the person signed in to this browser. The session
// cookie proves who they are; every change also carries the session's CSRF token, which a page
// on another site cannot read.

// An error the API explained in a sentence meant for the user.
export class ApiError extends Error {}

let mePromise = null;

// Who is signed in here: { signed_in, username, name, csrf_token, sign_in_available }.
export function me() {
  if (!mePromise) {
    mePromise = fetch("/auth/me", { headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : { signed_in: false }))
      .catch(() => ({ signed_in: false }));
  }
  return mePromise;
}

// Sends a request; resolves to the parsed JSON body (or null), rejects with an ApiError whose
// message is the API's sentence.
export async function api(method, path, body) {
  const who = await me();
  const headers = { Accept: "application/json" };
  if (method !== "GET" && who.csrf_token) headers["X-CSRF-Token"] = who.csrf_token;
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
    throw new ApiError(sentence);
  }
  return data;
}

// Fills the header: the signed-in person and Sign out, or a Sign in link.
export async function initActorControl() {
  const who = await me();
  const name = document.getElementById("actor-name");
  const signIn = document.getElementById("sign-in");
  const signOut = document.getElementById("sign-out");
  if (!name || !signIn || !signOut) return;
  if (who.signed_in) {
    name.textContent = who.username ? `${who.name} (@${who.username})` : "bootstrap token";
    signOut.hidden = false;
    signIn.hidden = true;
    signOut.addEventListener("click", async () => {
      // The answer redirects; the page goes home itself (which then leads to sign-in).
      try {
        await fetch("/auth/sign-out", { method: "POST", redirect: "manual", headers: { "X-CSRF-Token": who.csrf_token || "" } });
      } catch (err) {
        // Signed out or not, going home shows which.
      }
      window.location.assign("/");
    });
  } else {
    name.textContent = "not signed in";
    signIn.hidden = !who.sign_in_available;
  }
}
