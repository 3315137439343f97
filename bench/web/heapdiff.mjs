// Compares two V8 heap snapshots of one page (e.g. the ones
// BENCH_APP_HEAP_SNAPSHOT makes bench/web/app.mjs write at 100,000 messages
// and at the end): by node type and constructor or function name, the count
// and self size in each, the growth, and the objects of the second that the
// first did not have (snapshot node ids are stable within a page); then, for
// the largest groups of those new objects, a few retainer paths to a GC root.
//
// Usage: node bench/web/heapdiff.mjs OLD.heapsnapshot NEW.heapsnapshot [TOP]
//        node bench/web/heapdiff.mjs ONE.heapsnapshot   (one snapshot's make-up)
import { readFileSync } from 'node:fs';

const [oldFile, newFile, topArg] = process.argv.slice(2);
if (!oldFile) {
  console.error('usage: node bench/web/heapdiff.mjs OLD.heapsnapshot [NEW.heapsnapshot] [TOP]');
  process.exit(2);
}
const TOP = Number(topArg || 25);

/** A parsed snapshot with the per-node fields laid out flat. */
function load(file) {
  const s = JSON.parse(readFileSync(file, 'utf8'));
  const m = s.snapshot.meta;
  const nf = m.node_fields.length;
  const ef = m.edge_fields.length;
  const f = (name) => m.node_fields.indexOf(name);
  const e = (name) => m.edge_fields.indexOf(name);
  const nodeTypes = m.node_types[0];
  const edgeTypes = m.edge_types[0];
  const count = s.nodes.length / nf;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0, edge = 0; i < count; i++) {
    firstEdge[i] = edge;
    edge += s.nodes[i * nf + f('edge_count')] * ef;
  }
  firstEdge[count] = s.edges.length;
  const snap = {
    file, s, nf, ef, count, firstEdge, nodeTypes, edgeTypes,
    type: (i) => nodeTypes[s.nodes[i * nf + f('type')]],
    name: (i) => s.strings[s.nodes[i * nf + f('name')]],
    id: (i) => s.nodes[i * nf + f('id')],
    size: (i) => s.nodes[i * nf + f('self_size')],
    edges: function* (i) {
      for (let k = firstEdge[i]; k < firstEdge[i + 1]; k += ef) {
        const type = edgeTypes[s.edges[k + e('type')]];
        const nameOrIndex = s.edges[k + e('name_or_index')];
        const name = type === 'element' || type === 'hidden' ? `[${nameOrIndex}]` : s.strings[nameOrIndex];
        yield { type, name, to: s.edges[k + e('to_node')] / nf };
      }
    },
  };
  return snap;
}

/** The group a node counts in: its type, and for objects and closures its name. */
function group(snap, i) {
  const type = snap.type(i);
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string') return `(${type})`;
  if (type === 'number') return '(heap number)';
  const name = snap.name(i);
  if (type === 'object' || type === 'closure' || type === 'native') return `${type} ${name.slice(0, 80)}`;
  if (type === 'array' || type === 'code' || type === 'hidden' || type === 'object shape') return `(${type}) ${name.slice(0, 60)}`;
  return `(${type})`;
}

function aggregate(snap, only) {
  const by = new Map();
  for (let i = 0; i < snap.count; i++) {
    if (only && !only(i)) continue;
    const g = group(snap, i);
    const a = by.get(g) ?? { count: 0, size: 0, sample: [] };
    a.count++;
    a.size += snap.size(i);
    if (a.sample.length < 50) a.sample.push(i);
    by.set(g, a);
  }
  return by;
}

const kb = (b) => `${(b / 1024).toFixed(1)} KiB`;
const total = (by) => [...by.values()].reduce((a, g) => a + g.size, 0);
const pad = (s, n) => String(s).padStart(n);

const a = load(oldFile);
const aggA = aggregate(a);
if (!newFile) {
  console.log(`${a.file}: ${a.count} nodes, ${kb(total(aggA))}`);
  for (const [g, v] of [...aggA].sort((x, y) => y[1].size - x[1].size).slice(0, TOP)) {
    console.log(`${pad(kb(v.size), 12)} ${pad(v.count, 8)}  ${g}`);
  }
  process.exit(0);
}
const b = load(newFile);
const aggB = aggregate(b);
console.log(`old ${a.file}: ${a.count} nodes, ${kb(total(aggA))}`);
console.log(`new ${b.file}: ${b.count} nodes, ${kb(total(aggB))}\n`);

console.log(`Growth by group (new − old), the ${TOP} largest:`);
console.log(`${pad('Δ size', 12)} ${pad('Δ count', 8)} ${pad('new size', 12)} ${pad('new count', 9)}  group`);
const groups = new Set([...aggA.keys(), ...aggB.keys()]);
const growth = [...groups].map((g) => {
  const x = aggA.get(g) ?? { count: 0, size: 0 };
  const y = aggB.get(g) ?? { count: 0, size: 0 };
  return { g, dSize: y.size - x.size, dCount: y.count - x.count, size: y.size, count: y.count };
}).sort((p, q) => q.dSize - p.dSize);
for (const r of growth.slice(0, TOP)) {
  console.log(`${pad(kb(r.dSize), 12)} ${pad(r.dCount, 8)} ${pad(kb(r.size), 12)} ${pad(r.count, 9)}  ${r.g}`);
}

// Objects of the new snapshot the old one did not have.
const oldIds = new Set();
for (let i = 0; i < a.count; i++) oldIds.add(a.id(i));
const fresh = aggregate(b, (i) => !oldIds.has(b.id(i)));
console.log(`\nObjects new since the old snapshot: ${kb(total(fresh))}; the ${TOP} largest groups:`);
const freshTop = [...fresh].sort((x, y) => y[1].size - x[1].size).slice(0, TOP);
for (const [g, v] of freshTop) console.log(`${pad(kb(v.size), 12)} ${pad(v.count, 8)}  ${g}`);

// Retainers: the reverse edges of the new snapshot, weak ones left out.
const retainers = Array.from({ length: b.count }, () => null);
for (let i = 0; i < b.count; i++) {
  for (const edge of b.edges(i)) {
    if (edge.type === 'weak' || edge.type === 'shortcut') continue;
    (retainers[edge.to] ??= []).push({ from: i, type: edge.type, name: edge.name });
  }
}
const label = (i) => `${b.type(i)} ${b.name(i).slice(0, 60)} @${b.id(i)}`;
/** The shortest path from a root to node `i`, by retainers (breadth first). */
function pathTo(i) {
  const seen = new Map([[i, null]]);
  const queue = [i];
  while (queue.length) {
    const n = queue.shift();
    const rs = retainers[n];
    if (!rs || b.type(n) === 'synthetic') {
      const path = [];
      for (let k = n; k !== i;) { const via = seen.get(k); path.push(`${label(k)} --${via.type}:${via.name}-->`); k = via.to; }
      path.push(label(i));
      return path;
    }
    for (const r of rs) {
      if (seen.has(r.from)) continue;
      seen.set(r.from, { to: n, type: r.type, name: r.name });
      queue.push(r.from);
    }
  }
  return ['(no path to a root)'];
}
const PATHS_FOR = 5;
console.log(`\nRetainer paths (root first) of a new object of each of the ${PATHS_FOR} largest new groups:`);
for (const [g, v] of freshTop.slice(0, PATHS_FOR)) {
  console.log(`\n${g} (${v.count} new, ${kb(v.size)}):`);
  for (const i of v.sample.slice(0, 2)) {
    console.log(pathTo(i).map((x) => `    ${x}`).join('\n'));
    console.log('    --');
  }
}
