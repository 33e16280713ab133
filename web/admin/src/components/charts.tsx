// Small SVG charts. Each is an image with a text alternative that names every figure; the
// pages also show the same figures in tables.
import { formatNumber } from "../format";

export interface Bar {
  label: string;
  value: number;
}

export function BarChart({ title, bars }: { title: string; bars: Bar[] }) {
  const labelWidth = 170;
  const valueWidth = 80;
  const width = 640;
  const rowHeight = 30;
  const height = Math.max(1, bars.length) * rowHeight + 10;
  const plot = width - labelWidth - valueWidth;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const description = bars.length
    ? `${title}: ${bars.map((b) => `${b.label} ${formatNumber(b.value)}`).join("; ")}`
    : `${title}: nothing yet`;
  return (
    <svg
      className="chart"
      role="img"
      aria-label={description}
      viewBox={`0 0 ${width} ${height}`}
      preserveAspectRatio="xMinYMin meet"
    >
      {bars.length === 0 ? (
        <text x={10} y={24} className="chart-empty">
          Nothing yet
        </text>
      ) : null}
      {bars.map((bar, i) => {
        const y = 5 + i * rowHeight;
        const w = Math.max(bar.value > 0 ? 2 : 0, (bar.value / max) * plot);
        return (
          <g key={`${bar.label}-${i}`}>
            <text x={labelWidth - 8} y={y + 19} textAnchor="end" className="chart-label">
              {bar.label.length > 24 ? `${bar.label.slice(0, 23)}…` : bar.label}
            </text>
            <rect x={labelWidth} y={y + 4} width={w} height={rowHeight - 10} rx={3} className="bar" />
            <text x={labelWidth + w + 6} y={y + 19} className="chart-value">
              {formatNumber(bar.value)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

export interface Series {
  name: string;
  values: number[];
  className: string;
}

/** Lines over consecutive days (`days` are YYYY-MM-DD, oldest first). */
export function LineChart({ title, days, series }: { title: string; days: string[]; series: Series[] }) {
  const width = 640;
  const height = 240;
  const left = 44;
  const right = 16;
  const top = 16;
  const bottom = 36;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const x = (i: number) => left + (days.length <= 1 ? plotW / 2 : (i / (days.length - 1)) * plotW);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const ticks = max === 1 ? [0, 1] : [0, Math.round(max / 2), max];
  const totals = series.map((s) => `${s.name} ${formatNumber(s.values.reduce((a, b) => a + b, 0))}`);
  const description = `${title}, ${days[0] ?? ""} to ${days[days.length - 1] ?? ""}: ${totals.join(", ")}`;
  const labelled = days.length > 0 ? [0, Math.floor((days.length - 1) / 2), days.length - 1] : [];
  return (
    <figure className="chart-figure">
      <svg className="chart" role="img" aria-label={description} viewBox={`0 0 ${width} ${height}`}>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={left} x2={width - right} y1={y(t)} y2={y(t)} className="grid" />
            <text x={left - 6} y={y(t) + 4} textAnchor="end" className="chart-label">
              {formatNumber(t)}
            </text>
          </g>
        ))}
        {[...new Set(labelled)].map((i) => (
          <text key={i} x={x(i)} y={height - 12} textAnchor="middle" className="chart-label">
            {days[i]?.slice(5)}
          </text>
        ))}
        {series.map((s) => (
          <g key={s.name} className={s.className}>
            <polyline
              fill="none"
              points={s.values.map((v, i) => `${x(i)},${y(v)}`).join(" ")}
              className="line"
            />
            {s.values.map((v, i) =>
              v > 0 ? <circle key={i} cx={x(i)} cy={y(v)} r={3} className="dot" /> : null,
            )}
          </g>
        ))}
      </svg>
      <figcaption className="legend">
        {series.map((s) => (
          <span key={s.name} className={`legend-item ${s.className}`}>
            <span className="swatch" aria-hidden="true" /> {s.name}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

/** The `count` days up to and including today (UTC), oldest first, as YYYY-MM-DD. */
export function lastDays(count: number, today = new Date()): string[] {
  const end = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  return Array.from({ length: count }, (_, i) =>
    new Date(end - (count - 1 - i) * 86_400_000).toISOString().slice(0, 10),
  );
}
