/** The log's growth as an inline SVG line chart: tree size (or index) over time. */
const NS = 'http://www.w3.org/2000/svg';

function el(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const day = (t: number) => new Date(t).toISOString().slice(0, 10);

export function growthChart(points: readonly [number, number][], title: string): SVGElement {
  const W = 640;
  const H = 220;
  const L = 64;
  const B = 28;
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, class: 'chart' });
  svg.append(el('title', {}, title));
  const pts = points.filter(([t, n]) => Number.isFinite(t) && Number.isFinite(n)).sort((a, b) => a[0] - b[0]);
  if (pts.length < 2) {
    svg.append(el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'Not enough points yet'));
    return svg;
  }
  const t0 = pts[0]![0];
  const t1 = Math.max(pts[pts.length - 1]![0], t0 + 1);
  const n1 = Math.max(...pts.map((p) => p[1]), 1);
  const x = (t: number) => L + ((t - t0) / (t1 - t0)) * (W - L - 12);
  const y = (n: number) => H - B - (n / n1) * (H - B - 12);
  svg.append(el('line', { x1: L, y1: H - B, x2: W - 12, y2: H - B, class: 'axis' }));
  svg.append(el('line', { x1: L, y1: 12, x2: L, y2: H - B, class: 'axis' }));
  svg.append(el('text', { x: L - 6, y: 18, 'text-anchor': 'end' }, n1.toLocaleString('en')));
  svg.append(el('text', { x: L - 6, y: H - B, 'text-anchor': 'end' }, '0'));
  svg.append(el('text', { x: L, y: H - 8 }, day(t0)));
  svg.append(el('text', { x: W - 12, y: H - 8, 'text-anchor': 'end' }, day(t1)));
  const d = pts.map(([t, n], i) => `${i === 0 ? 'M' : 'L'}${x(t).toFixed(1)},${y(n).toFixed(1)}`).join(' ');
  svg.append(el('path', { d, class: 'line' }));
  return svg;
}
