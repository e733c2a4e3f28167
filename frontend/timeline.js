// One line of a release's timeline: when, who or what, on which component, from → to, and why.
// The server renders the same markup for the first paint (templates/timeline_item.html).

import { el, stateBadge, formatTime } from "./dom.js";

// An event kind in words: "state" → "state changed", "version_changed" → "version changed".
export function kindWords(kind) {
  return kind === "state" ? "state changed" : kind.replaceAll("_", " ");
}

export function timelineItem(event) {
  const subject = event.component_name || "release";
  const change = event.from_state || event.to_state
    ? el("span", { class: "change" },
      event.from_state ? stateBadge(event.from_state) : null,
      event.from_state && event.to_state ? " → " : null,
      event.to_state ? stateBadge(event.to_state) : null)
    : null;
  return el("li", { "data-event-id": event.id },
    el("time", { datetime: event.created_at }, formatTime(event.created_at)),
    el("span", { class: "who" }, event.actor),
    el("span", { class: "what" }, `${subject}: ${kindWords(event.kind)}`),
    change,
    event.reason ? el("span", { class: "why" }, event.reason) : null,
  );
}
