// The releases list: when any event is recorded, the rows are fetched again (this same page,
// server-rendered) and swapped in, so the list never goes stale.

import { initActorControl } from "./api.js";
import { debounce } from "./dom.js";
import { connectLive, showLiveStatus } from "./live.js";

const root = document.getElementById("releases");

async function refreshNow() {
  let response;
  try {
    response = await fetch(location.href, { headers: { Accept: "text/html" } });
  } catch (err) {
    return; // the websocket reconnects and refreshes again
  }
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = page.getElementById("releases-content");
  if (fresh) document.getElementById("releases-content").replaceWith(fresh);
  fillBars();
}
const refresh = debounce(refreshNow, 50);

// A row shows the release's state and how many components are released: only events that
// change those matter here.
function changesList(event) {
  return !event.component_id || event.to_state === "success" || event.from_state === "success";
}

// Progress bars carry their width as data (the CSP forbids style attributes); set it here.
function fillBars() {
  for (const bar of document.querySelectorAll("[data-percent]")) {
    bar.style.width = `${bar.dataset.percent}%`;
  }
}

initActorControl();
fillBars();
connectLive("/live", {
  after: root.dataset.lastEventId,
  onEvent: (event) => {
    if (changesList(event)) refresh();
  },
  onStatus: showLiveStatus,
  onReconnect: refresh,
});
