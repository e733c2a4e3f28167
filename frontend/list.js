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
}
const refresh = debounce(refreshNow, 50);

initActorControl();
connectLive("/live", {
  after: root.dataset.lastEventId,
  onEvent: refresh,
  onStatus: showLiveStatus,
  onReconnect: refresh,
});
