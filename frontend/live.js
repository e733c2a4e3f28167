// The websocket client: receives release events as they are recorded, remembers the last event
// id it saw and reconnects with it, so a dropped connection never leaves a stale page.

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 5000;

// Connects to `path` (e.g. "/releases/7/live") starting after event id `after`.
// onEvent(event) is called once per event, in id order; onStatus("live" | "offline") whenever
// the connection opens or drops; onReconnect() after a connection other than the first opens.
export function connectLive(path, { after = 0, onEvent, onStatus = () => {}, onReconnect = () => {} }) {
  let lastId = Number(after) || 0;
  let delay = MIN_DELAY_MS;
  let socket = null;
  let stopped = false;
  let opened = false;
  let timer = null;

  function open() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}${path}?after=${lastId}`);
    socket = ws;
    ws.addEventListener("open", () => {
      delay = MIN_DELAY_MS;
      onStatus("live");
      if (opened) onReconnect();
      opened = true;
    });
    ws.addEventListener("message", (message) => {
      let data;
      try {
        data = JSON.parse(message.data);
      } catch (err) {
        return;
      }
      if (data.type !== "event" || !data.event) return;
      // The server sends each event once; this guard keeps a page correct even if it did not.
      if (data.event.id <= lastId) return;
      lastId = data.event.id;
      onEvent(data.event);
    });
    ws.addEventListener("close", () => {
      onStatus("offline");
      if (stopped) return;
      timer = setTimeout(open, delay);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    });
    ws.addEventListener("error", () => ws.close());
  }

  open();
  return {
    lastId: () => lastId,
    close() {
      stopped = true;
      clearTimeout(timer);
      if (socket) socket.close();
    },
  };
}

// Shows the connection state in the page header, as text and colour.
export function showLiveStatus(status) {
  const node = document.getElementById("live-status");
  if (!node) return;
  node.hidden = false;
  node.dataset.state = status;
  node.textContent = status === "live" ? "live" : "reconnecting…";
}
