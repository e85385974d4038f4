// Reading back a chart lineChartSvg drew: its polylines, and the data->pixel maps its axis ticks
// define (each tick line carries its value), so a test can check the curves against the data
// without trusting the code that drew them.

export interface ChartReading {
  width: number;
  height: number;
  /** Polylines by series name (a series split at undrawable points has several). */
  lines: Map<string, [number, number][][]>;
  /** Pixel of a data value on each axis, fitted to the ticks (log10 of the value when log). */
  xPixel(value: number): number;
  yPixel(value: number): number;
  xTicks: number[];
  yTicks: number[];
}

const attrs = (tag: string) => Object.fromEntries([...tag.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));

export function readChart(svg: string, options: { logY?: boolean } = {}): ChartReading {
  const root = attrs(/<svg[^>]*>/.exec(svg)![0]);
  const lines = new Map<string, [number, number][][]>();
  for (const m of svg.matchAll(/<polyline[^>]*>/g)) {
    const a = attrs(m[0]);
    const points = a.points.trim().split(/\s+/).map((p) => p.split(',').map(Number) as [number, number]);
    lines.set(a['data-series'], [...(lines.get(a['data-series']) ?? []), points]);
  }
  const ticks = (cls: string, coord: 'x1' | 'y1') =>
    [...svg.matchAll(new RegExp(`<line class="${cls}"[^>]*>`, 'g'))].map((m) => {
      const a = attrs(m[0]);
      return { value: Number(a['data-value']), px: Number(a[coord]) };
    });
  const xt = ticks('tick-x', 'x1');
  const yt = ticks('tick-y', 'y1');
  return {
    width: Number(root.width),
    height: Number(root.height),
    lines,
    xPixel: fitLine(xt.map((t) => [t.value, t.px])),
    yPixel: fitLine(yt.map((t) => [options.logY ? Math.log10(t.value) : t.value, t.px]), options.logY),
    xTicks: xt.map((t) => t.value),
    yTicks: yt.map((t) => t.value),
  };
}

// The straight line through the first and last tick, after checking every tick lies on it.
function fitLine(points: [number, number][], log = false): (value: number) => number {
  if (points.length < 2) throw new Error(`an axis has ${points.length} ticks`);
  const [x0, p0] = points[0];
  const [x1, p1] = points[points.length - 1];
  const f = (v: number) => p0 + ((v - x0) * (p1 - p0)) / (x1 - x0);
  for (const [v, p] of points) if (Math.abs(f(v) - p) > 0.02) throw new Error(`tick ${v} at ${p} is off the axis line (${f(v)})`);
  return log ? (value) => f(Math.log10(value)) : f;
}
