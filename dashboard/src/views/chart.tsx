/** A compartment's temperature over a chosen window, with its class's limits and its alarms. */
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import type { AlarmView } from '../../../devices/live.ts';
import type { TemperatureClass } from '../../../devices/profiles/schema.ts';
import { type AlarmList, api, type ClassRules, type Readings, type SiteRules } from '../api.ts';
import { alarmLabel, axisTime, celsius, dateTime, levelLabel } from '../format.ts';
import { useStore } from '../hooks.ts';
import { language, t } from '../i18n.ts';
import { ErrorLine } from '../ui.tsx';

const WINDOWS = [
  { hours: 1, ms: 3_600_000 },
  { hours: 6, ms: 6 * 3_600_000 },
  { hours: 24, ms: 24 * 3_600_000 },
  { days: 7, ms: 7 * 24 * 3_600_000 },
] as const;

const windowLabel = (w: (typeof WINDOWS)[number]) =>
  'days' in w ? t('dashboard.chart.days', { n: w.days }) : t('dashboard.chart.hours', { n: w.hours });

interface Series {
  ts: number[];
  c: Array<number | null>;
  min?: Array<number | null>;
  max?: Array<number | null>;
}

/** The lines drawn across a chart: a site's rules for the class, or a parcel's range alone. */
type Limits = Pick<ClassRules, 'keepMin' | 'keepMax'> & {
  warn: Pick<ClassRules['warn'], 'above'>;
  critical: Pick<NonNullable<ClassRules['critical']>, 'above'> | null;
};

const COLORS = { line: '#0b5cad', band: '#7aa7d6', critical: '#b3261e', warning: '#a35c00', keep: '#2e7d32' };

export function TemperatureChart(props: {
  lockerId: string;
  siteId: string;
  sensor: string;
  temperatureClass: TemperatureClass;
  /** The site's time zone, the axis's and the legend's. */
  zone: string;
}) {
  const store = useStore();
  const [win, setWin] = useState<number>(WINDOWS[1].ms);
  const [error, setError] = useState<Error | null>(null);
  const [summary, setSummary] = useState<string>('');
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let plot: uPlot | null = null;
    let cancelled = false;
    const to = store.hubNow();
    const from = to - win;
    const aggregated = win > 24 * 3_600_000;
    const base = `/api/v1/lockers/${encodeURIComponent(props.lockerId)}`;
    const series: Series = aggregated ? { ts: [], c: [], min: [], max: [] } : { ts: [], c: [] };
    let unsubscribe = () => {};
    Promise.all([
      api<Readings>(
        'GET',
        `${base}/sensors/${encodeURIComponent(props.sensor)}/readings?from=${from}&to=${to}&resolution=${aggregated ? '5m' : 'raw'}`,
      ),
      api<SiteRules>('GET', `/api/v1/sites/${encodeURIComponent(props.siteId)}/rules`).catch(() => undefined),
      api<AlarmList>(
        'GET',
        `/api/v1/alarms?state=all&lockerId=${encodeURIComponent(props.lockerId)}&sensor=${encodeURIComponent(props.sensor)}&from=${from}&limit=200`,
      ),
    ]).then(
      ([readings, rules, alarms]) => {
        if (cancelled || !box.current) return;
        if (readings.resolution === '5m')
          for (const p of readings.points) {
            series.ts.push(p.ts / 1000);
            series.c.push(p.mean);
            series.min?.push(p.min);
            series.max?.push(p.max);
          }
        else
          for (const p of readings.points) {
            series.ts.push(p.ts / 1000);
            series.c.push(p.c);
          }
        const rule = rules?.[props.temperatureClass];
        const values = series.c.filter((v): v is number => v !== null);
        setSummary(
          values.length
            ? t(aggregated ? 'dashboard.chart.summary_means' : 'dashboard.chart.summary', {
                n: values.length,
                min: celsius(Math.min(...values)),
                max: celsius(Math.max(...values)),
                alarms: alarms.alarms.length,
              })
            : t('dashboard.chart.empty'),
        );
        plot = new uPlot(
          options(box.current.clientWidth || 320, from, to, rule, alarms.alarms, aggregated, props.zone),
          data(series),
          box.current,
        );
        setError(null);
        // New readings extend the line while the window ends now.
        if (!aggregated)
          unsubscribe = store.onReadings((batch) => {
            let added = false;
            for (const r of batch) {
              if (r.lockerId !== props.lockerId || r.sensor !== props.sensor) continue;
              series.ts.push(r.ts / 1000);
              series.c.push(r.c);
              added = true;
            }
            if (added && plot) {
              const edge = (store.hubNow() - win) / 1000;
              while (series.ts.length && (series.ts[0] as number) < edge) {
                series.ts.shift();
                series.c.shift();
              }
              plot.setScale('x', { min: edge, max: store.hubNow() / 1000 });
              plot.setData(data(series), false);
            }
          });
      },
      (err: Error) => !cancelled && setError(err),
    );
    const resize = new ResizeObserver(() => {
      if (plot && box.current) plot.setSize({ width: box.current.clientWidth, height: 220 });
    });
    if (box.current) resize.observe(box.current);
    return () => {
      cancelled = true;
      unsubscribe();
      resize.disconnect();
      plot?.destroy();
    };
  }, [
    props.lockerId,
    props.sensor,
    props.siteId,
    props.temperatureClass,
    props.zone,
    win,
    store,
    language(),
  ]);

  return (
    <figure class="chart">
      <figcaption>
        <span>{t('dashboard.chart.sensor', { sensor: props.sensor })}</span>
        <fieldset class="segmented">
          <legend class="sr-only">{t('dashboard.chart.window')}</legend>
          {WINDOWS.map((w) => (
            <button type="button" key={w.ms} aria-pressed={w.ms === win} onClick={() => setWin(w.ms)}>
              {windowLabel(w)}
            </button>
          ))}
        </fieldset>
      </figcaption>
      <div
        ref={box}
        class="chart-box"
        role="img"
        aria-label={t('dashboard.chart.label', { sensor: props.sensor, summary })}
      />
      <p class="muted small">{summary}</p>
      <ErrorLine error={error} />
    </figure>
  );
}

function data(s: Series): uPlot.AlignedData {
  return (s.min && s.max ? [s.ts, s.c, s.min, s.max] : [s.ts, s.c]) as uPlot.AlignedData;
}

function options(
  width: number,
  from: number,
  to: number,
  rule: Limits | undefined,
  alarms: AlarmView[],
  aggregated: boolean,
  zone: string,
): uPlot.Options {
  const limits: Array<{ c: number; color: string; label: string }> = [];
  if (rule) {
    limits.push({
      c: rule.keepMax,
      color: COLORS.keep,
      label: t('dashboard.chart.keep_max', { c: rule.keepMax }),
    });
    if (rule.keepMin !== null)
      limits.push({
        c: rule.keepMin,
        color: COLORS.keep,
        label: t('dashboard.chart.keep_min', { c: rule.keepMin }),
      });
    if (rule.warn.above !== rule.keepMax)
      limits.push({
        c: rule.warn.above,
        color: COLORS.warning,
        label: t('dashboard.chart.warn', { c: rule.warn.above }),
      });
    if (rule.critical)
      limits.push({
        c: rule.critical.above,
        color: COLORS.critical,
        label: t('dashboard.chart.critical', { c: rule.critical.above }),
      });
  }
  const drawLimits = (u: uPlot) => {
    const { ctx, bbox } = u;
    ctx.save();
    // uPlot leaves the alignment of its last axis label behind.
    ctx.textAlign = 'left';
    ctx.textBaseline = 'alphabetic';
    // Alarms: a band from when the condition began to when it cleared (or now).
    const right = bbox.left + bbox.width;
    alarms.forEach((a, i) => {
      const x0 = Math.max(bbox.left, u.valToPos(Math.max(a.since ?? a.raisedAt, from) / 1000, 'x', true));
      const x1 = Math.min(
        right,
        u.valToPos(a.clearedAt !== null ? a.clearedAt / 1000 : (u.scales.x?.max ?? to / 1000), 'x', true),
      );
      ctx.fillStyle = a.level === 'critical' ? 'rgba(179,38,30,0.16)' : 'rgba(163,92,0,0.12)';
      ctx.fillRect(x0, bbox.top, Math.max(2, x1 - x0), bbox.height);
      // Labels stacked, kept inside the plot even for an alarm that began at its right edge.
      ctx.fillStyle = a.level === 'critical' ? COLORS.critical : COLORS.warning;
      ctx.font = `${12 * devicePixelRatio}px system-ui, sans-serif`;
      const text = `${alarmLabel(a.kind)} (${levelLabel(a.level)})`;
      const x = Math.min(x0 + 4, right - ctx.measureText(text).width - 4);
      ctx.fillText(text, x, bbox.top + bbox.height - (6 + 15 * i) * devicePixelRatio);
    });
    ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
    ctx.lineWidth = devicePixelRatio;
    for (const l of limits) {
      const y = u.valToPos(l.c, 'y', true);
      ctx.strokeStyle = l.color;
      ctx.beginPath();
      ctx.moveTo(bbox.left, y);
      ctx.lineTo(bbox.left + bbox.width, y);
      ctx.stroke();
      ctx.fillStyle = l.color;
      ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
      ctx.fillText(l.label, bbox.left + 4 * devicePixelRatio, y - 3 * devicePixelRatio);
    }
    ctx.restore();
  };
  const series: uPlot.Series[] = [
    { label: t('dashboard.chart.time'), value: (_u, v) => (v === null ? '—' : dateTime(v * 1000, zone)) },
    { label: aggregated ? t('dashboard.chart.mean') : '°C', stroke: COLORS.line, width: 2, spanGaps: false },
  ];
  if (aggregated)
    series.push(
      { label: t('dashboard.chart.min'), stroke: COLORS.band, width: 1, dash: [4, 4] },
      { label: t('dashboard.chart.max'), stroke: COLORS.band, width: 1, dash: [4, 4] },
    );
  return {
    width,
    height: 220,
    // Ticks on the site's round hours and midnights, wherever the browser is.
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), zone),
    series,
    scales: {
      x: { time: true, min: from / 1000, max: to / 1000 },
      y: {
        // The limits stay in view even when the line is far from them.
        range: (_u, min, max) => {
          const lo = Math.min(min ?? 0, ...limits.map((l) => l.c)) - 1;
          const hi = Math.max(max ?? 0, ...limits.map((l) => l.c)) + 1;
          return [Math.floor(lo), Math.ceil(hi)];
        },
      },
    },
    axes: [
      {
        // 24-hour clock in the site's zone; dates once the window spans days.
        values: (_u, splits) => splits.map((s) => axisTime(s * 1000, zone, to - from > 24 * 3_600_000)),
      },
      { label: '°C', size: 50 },
    ],
    legend: { show: true },
    hooks: { draw: [drawLimits] },
  };
}

/** A parcel's temperature record: its readings from deposit to pickup, its range and its alarms. */
export function RecordChart(props: {
  series: Array<{ ts: number; c: number }>;
  range: { min: number | null; max: number };
  alarms: AlarmView[];
  zone: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const first = props.series[0];
    const last = props.series.at(-1);
    if (!box.current || !first || !last) return;
    const rule: Limits = {
      keepMin: props.range.min,
      keepMax: props.range.max,
      warn: { above: props.range.max },
      critical: null,
    };
    const plot = new uPlot(
      options(
        box.current.clientWidth || 320,
        first.ts,
        Math.max(last.ts, first.ts + 60_000),
        rule,
        props.alarms,
        false,
        props.zone,
      ),
      data({ ts: props.series.map((r) => r.ts / 1000), c: props.series.map((r) => r.c) }),
      box.current,
    );
    return () => plot.destroy();
  }, [props.series, props.range, props.alarms, props.zone, language()]);
  return (
    <div
      ref={box}
      class="chart-box"
      role="img"
      aria-label={t('dashboard.record.chart', { n: props.series.length })}
    />
  );
}
