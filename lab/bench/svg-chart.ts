/** A minimal line chart as SVG text: enough for the benchmark's one plot, no dependencies. */
export interface Series {
  readonly name: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export interface ChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly yMin: number;
  readonly yMax: number;
}

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];
const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;");

export function renderChart(options: ChartOptions): string {
  const width = 760;
  const height = 440;
  const left = 70;
  const right = 180;
  const top = 40;
  const bottom = 60;
  const xs = options.series.flatMap((s) => s.points.map(([x]) => x));
  const xMax = Math.max(1, ...xs);
  const x = (value: number) => left + (value / xMax) * (width - left - right);
  const y = (value: number) =>
    top +
    (1 - (Math.max(options.yMin, Math.min(options.yMax, value)) - options.yMin) / (options.yMax - options.yMin)) * (height - top - bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escape(options.title)}</text>`,
    `<line x1="${left}" y1="${y(options.yMin)}" x2="${width - right}" y2="${y(options.yMin)}" stroke="#333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${y(options.yMin)}" stroke="#333"/>`,
  ];
  for (let tick = 0; tick <= 5; tick++) {
    const value = options.yMin + ((options.yMax - options.yMin) * tick) / 5;
    parts.push(`<line x1="${left}" y1="${y(value)}" x2="${width - right}" y2="${y(value)}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 8}" y="${y(value) + 4}" text-anchor="end">${value.toFixed(0)}</text>`);
    const xv = (xMax * tick) / 5;
    parts.push(`<text x="${x(xv)}" y="${y(options.yMin) + 18}" text-anchor="middle">${Math.round(xv / 1000)}k</text>`);
  }
  parts.push(`<line x1="${left}" y1="${y(99.9)}" x2="${width - right}" y2="${y(99.9)}" stroke="#999" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${width - right - 4}" y="${y(99.9) - 4}" text-anchor="end" fill="#777">99.9 %</text>`);
  parts.push(`<text x="${(left + width - right) / 2}" y="${height - 18}" text-anchor="middle">${escape(options.xLabel)}</text>`);
  parts.push(
    `<text x="18" y="${(top + height - bottom) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(top + height - bottom) / 2})">${escape(options.yLabel)}</text>`,
  );
  options.series.forEach((series, index) => {
    const color = COLORS[index % COLORS.length];
    const path = series.points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(" ");
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${path}"/>`);
    for (const [px, py] of series.points) parts.push(`<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="3" fill="${color}"/>`);
    parts.push(`<rect x="${width - right + 16}" y="${top + index * 20}" width="12" height="12" fill="${color}"/>`);
    parts.push(`<text x="${width - right + 34}" y="${top + index * 20 + 10}">${escape(series.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}
