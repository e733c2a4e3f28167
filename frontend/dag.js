// Draws the release plan as an SVG DAG: one column per dependency depth, left to right, each
// node coloured by its state (and the state written in it), edges from each dependency to the
// components that wait on it. The container scrolls, so a plan of any size keeps its shape.

const SVG = "http://www.w3.org/2000/svg";
const NODE_W = 180;
const NODE_H = 42;
const COL_GAP = 70;
const ROW_GAP = 12;
const PAD = 16;
const MAX_LABEL = 24;
const CENTRE_UP_TO = 8;

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function shorten(text) {
  return text.length > MAX_LABEL ? `${text.slice(0, MAX_LABEL - 1)}…` : text;
}

// Depth of each component: 0 without dependencies in the plan, else one more than its deepest
// dependency.
function depths(components) {
  const byName = new Map(components.map((c) => [c.name, c]));
  const depth = new Map();
  const visiting = new Set();
  function visit(name) {
    if (depth.has(name)) return depth.get(name);
    if (visiting.has(name)) return 0; // a cycle never reaches a stored plan; do not loop on one
    visiting.add(name);
    let d = 0;
    for (const dep of byName.get(name).dependencies || []) {
      if (byName.has(dep)) d = Math.max(d, visit(dep) + 1);
    }
    visiting.delete(name);
    depth.set(name, d);
    return d;
  }
  for (const c of components) visit(c.name);
  return depth;
}

// Columns of names; inside a column, components sit near the average row of their dependencies
// (one barycentre pass), which keeps most edges short and uncrossed.
function layout(components) {
  const depth = depths(components);
  const columns = [];
  for (const c of components) {
    const d = depth.get(c.name);
    (columns[d] = columns[d] || []).push(c);
  }
  const row = new Map();
  columns.forEach((column, index) => {
    if (index > 0) {
      const key = (c) => {
        const deps = (c.dependencies || []).filter((dep) => row.has(dep));
        return deps.length ? deps.reduce((sum, dep) => sum + row.get(dep), 0) / deps.length : 0;
      };
      column.sort((a, b) => key(a) - key(b));
    }
    column.forEach((c, i) => row.set(c.name, i));
  });
  const tallest = Math.max(1, ...columns.map((column) => column.length));
  const height = PAD * 2 + tallest * NODE_H + (tallest - 1) * ROW_GAP;
  // Small plans read best centred; in big ones every column starts at the top, where the
  // scrolled view begins.
  const centred = tallest <= CENTRE_UP_TO;
  const position = new Map();
  columns.forEach((column, index) => {
    const used = column.length * NODE_H + (column.length - 1) * ROW_GAP;
    const top = centred ? PAD + (height - PAD * 2 - used) / 2 : PAD;
    column.forEach((c, i) => {
      position.set(c.name, { x: PAD + index * (NODE_W + COL_GAP), y: top + i * (NODE_H + ROW_GAP) });
    });
  });
  const width = PAD * 2 + columns.length * NODE_W + Math.max(0, columns.length - 1) * COL_GAP;
  return { position, width, height };
}

// Replaces the drawing inside `container`. onSelect(name) is called when a node is clicked.
export function renderDag(container, components, { selected = null, onSelect = () => {} } = {}) {
  container.replaceChildren();
  if (!components.length) {
    const note = document.createElement("p");
    note.className = "dag-empty muted";
    note.textContent = "The plan appears here once the app's Podfile has been analyzed.";
    container.append(note);
    return;
  }
  const { position, width, height } = layout(components);
  const root = svg("svg", {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": "Release plan: each component after the components it depends on",
  });
  root.append(
    svg("defs", {},
      svg("marker", { id: "dag-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" },
        svg("path", { d: "M0,0 L10,5 L0,10 z", class: "dag-arrow" }))),
  );

  const edges = svg("g", {});
  for (const c of components) {
    const to = position.get(c.name);
    for (const dep of c.dependencies || []) {
      const from = position.get(dep);
      if (!from) continue;
      const x1 = from.x + NODE_W;
      const y1 = from.y + NODE_H / 2;
      const x2 = to.x;
      const y2 = to.y + NODE_H / 2;
      const bend = Math.max(20, (x2 - x1) / 2);
      const active = selected === c.name || selected === dep;
      edges.append(svg("path", {
        class: active ? "dag-edge active" : "dag-edge",
        d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`,
        "marker-end": "url(#dag-arrow)",
        "data-from": dep,
        "data-to": c.name,
      }));
    }
  }
  root.append(edges);

  for (const c of components) {
    const { x, y } = position.get(c.name);
    const classes = ["dag-node", `state-${c.state}`];
    if ((c.blocked_by || []).length) classes.push("blocked");
    if (selected === c.name) classes.push("selected");
    const detail = [c.state, c.version].filter(Boolean).join(" · ");
    const node = svg("g", { class: classes.join(" "), transform: `translate(${x},${y})`, "data-name": c.name, "data-state": c.state, tabindex: 0 },
      svg("title", {}, `${c.name}: ${c.state}${c.reason ? ` (${c.reason})` : ""}`),
      svg("rect", { width: NODE_W, height: NODE_H, rx: 6 }),
      svg("text", { x: 8, y: 17 }, shorten(c.name)),
      svg("text", { x: 8, y: 33, class: "sub" }, detail),
    );
    node.addEventListener("click", () => onSelect(c.name));
    node.addEventListener("keydown", (e) => {
      if (e.key === "Enter") onSelect(c.name);
    });
    root.append(node);
  }
  container.append(root);
}
