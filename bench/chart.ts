/** A small SVG line chart: events per second against concurrency, one line per system. */
export interface Series {
  name: string;
  color: string;
  points: { x: number; y: number }[];
}

export function lineChart(title: string, series: Series[], xLabel: string, yLabel: string): string {
  const H = 360;
  // The legend's column is as wide as its longest name (about 7 px a character at 12 px).
  const legend = Math.max(0, ...series.map((s) => s.name.length)) * 7 + 60;
  const m = { l: 70, r: Math.max(150, legend), t: 40, b: 50 };
  const W = 490 + m.r;
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const top = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.y)));
  // Grid lines at round values, about four of them, the highest point clear of the top.
  const step = niceStep(top / 4);
  const yMax = Math.ceil((top * 1.05) / step) * step;
  // x on a log scale: concurrency doubles and quadruples
  const lx = (x: number) => Math.log2(Math.max(1, x));
  const [x0, x1] = [lx(xs[0] ?? 1), lx(xs[xs.length - 1] ?? 2)];
  const px = (x: number) => m.l + ((lx(x) - x0) / Math.max(1e-9, x1 - x0)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - (y / yMax) * (H - m.t - m.b);
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>`,
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text x="16" y="${(m.t + H - m.b) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(m.t + H - m.b) / 2})">${esc(yLabel)}</text>`,
  ];
  for (const x of xs) {
    out.push(`<text x="${px(x)}" y="${H - m.b + 16}" text-anchor="middle">${x}</text>`);
  }
  for (let y = 0; y <= yMax; y += step) {
    out.push(
      `<line x1="${m.l}" y1="${py(y)}" x2="${W - m.r}" y2="${py(y)}" stroke="#ddd"/>`,
      `<text x="${m.l - 6}" y="${py(y) + 4}" text-anchor="end">${Math.round(y).toLocaleString('en-US')}</text>`,
    );
  }
  series.forEach((s, i) => {
    const d = s.points.map((p, j) => `${j ? 'L' : 'M'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2.5"/>`);
    for (const p of s.points) out.push(`<circle cx="${px(p.x)}" cy="${py(p.y)}" r="3.5" fill="${s.color}"/>`);
    const ly = m.t + 20 + i * 20;
    out.push(
      `<line x1="${W - m.r + 15}" y1="${ly - 4}" x2="${W - m.r + 40}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2.5"/>`,
      `<text x="${W - m.r + 46}" y="${ly}">${esc(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The grid step: 1, 2, 2.5 or 5 times a power of ten, the smallest at least `raw`. */
function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((k) => k * p).find((s) => s >= raw) ?? 10 * p;
}
