import { readFileSync } from 'node:fs';

import {
  buildSeriesCatalogue,
  checkExpression,
  checkSelector,
  loadMetricDefinitions,
  type MetricDefinition,
  type SeriesDefinition,
} from './metric-catalogue';
import { substituteGrafanaVariables, summarizeExpression } from './promql';
import { DASHBOARD_FILE } from './rules';

/**
 * Default Node.js metrics (prom-client's collectDefaultMetrics) that no panel
 * shows, with the reason. The trainer exports them without a prefix and the
 * operator with `mildnet_operator_`. The dashboard shows CPU, resident
 * memory, heap in use and event loop lag p99 of both, and more of the trainer.
 */
const DEFAULT_METRICS_NOT_SHOWN: Record<string, string> = {
  process_cpu_user_seconds_total: 'the CPU panels show process_cpu_seconds_total, the sum of user and system time',
  process_cpu_system_seconds_total: 'the CPU panels show process_cpu_seconds_total, the sum of user and system time',
  process_start_time_seconds: 'the alert rules use it for the process age, and as a panel it shows no more than the pod age',
  process_virtual_memory_bytes: 'virtual size includes WebAssembly address space reservations and does not track memory use',
  process_heap_bytes: 'the memory panels show V8 heap in use (nodejs_heap_size_used_bytes) and the resident set',
  process_open_fds: 'file descriptors are not a known failure of either process',
  process_max_fds: 'file descriptors are not a known failure of either process',
  nodejs_eventloop_lag_seconds: 'the lag panels show the 99th percentile, nodejs_eventloop_lag_p99_seconds',
  nodejs_eventloop_lag_min_seconds: 'the lag panels show the 99th percentile, nodejs_eventloop_lag_p99_seconds',
  nodejs_eventloop_lag_max_seconds: 'the lag panels show the 99th percentile, nodejs_eventloop_lag_p99_seconds',
  nodejs_eventloop_lag_mean_seconds: 'the lag panels show the 99th percentile, nodejs_eventloop_lag_p99_seconds',
  nodejs_eventloop_lag_stddev_seconds: 'the lag panels show the 99th percentile, nodejs_eventloop_lag_p99_seconds',
  nodejs_eventloop_lag_p50_seconds: 'the lag panels show the 99th percentile, nodejs_eventloop_lag_p99_seconds',
  nodejs_eventloop_lag_p90_seconds: 'the lag panels show the 99th percentile, nodejs_eventloop_lag_p99_seconds',
  nodejs_active_resources: 'libuv handle counts are debugging detail, not a training or reconcile signal',
  nodejs_active_resources_total: 'libuv handle counts are debugging detail, not a training or reconcile signal',
  nodejs_active_handles: 'libuv handle counts are debugging detail, not a training or reconcile signal',
  nodejs_active_handles_total: 'libuv handle counts are debugging detail, not a training or reconcile signal',
  nodejs_active_requests: 'libuv request counts are debugging detail, not a training or reconcile signal',
  nodejs_active_requests_total: 'libuv request counts are debugging detail, not a training or reconcile signal',
  nodejs_heap_size_total_bytes: 'the memory panels show the heap in use, and the reserved total follows it',
  nodejs_heap_space_size_total_bytes: 'per-space V8 heap sizes are debugging detail, and the memory panels show the heap in use',
  nodejs_heap_space_size_used_bytes: 'per-space V8 heap sizes are debugging detail, and the memory panels show the heap in use',
  nodejs_heap_space_size_available_bytes: 'per-space V8 heap sizes are debugging detail, and the memory panels show the heap in use',
  nodejs_version_info: 'the Node.js version is fixed by the image',
};

/** Operator metrics that have a trainer panel but no operator panel, with the reason. */
const OPERATOR_METRICS_NOT_SHOWN: Record<string, string> = {
  mildnet_operator_nodejs_external_memory_bytes: 'the operator allocates no ArrayBuffers or WebAssembly memory worth watching',
  mildnet_operator_nodejs_gc_duration_seconds: 'garbage collection of the operator has not been a problem, so only the trainer has a panel, which shows leaks',
};

function metricsNotShown(definitions: readonly MetricDefinition[]): Map<string, string> {
  const notShown = new Map<string, string>(Object.entries(OPERATOR_METRICS_NOT_SHOWN));
  for (const [name, reason] of Object.entries(DEFAULT_METRICS_NOT_SHOWN)) {
    notShown.set(name, reason);
    notShown.set(`mildnet_operator_${name}`, reason);
  }
  // Linux-only default metrics (open and max file descriptors) are missing elsewhere.
  const defined = new Set(definitions.map((metric) => metric.name));
  if (process.platform === 'linux') return notShown;
  for (const name of notShown.keys()) {
    if (!defined.has(name)) notShown.delete(name);
  }
  return notShown;
}

interface Panel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: { expr?: string; refId?: string; datasource?: { type?: string; uid?: string } }[];
  panels?: Panel[];
}

interface Dashboard {
  schemaVersion: number;
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown; datasource?: { type?: string; uid?: string } }[] };
}

function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);
}

interface Query {
  where: string;
  expr: string;
}

function queriesOf(dashboard: Dashboard): Query[] {
  const queries: Query[] = [];
  for (const panel of allPanels(dashboard.panels)) {
    for (const target of panel.targets ?? []) {
      if (target.expr !== undefined) queries.push({ where: `panel "${panel.title}" (id ${panel.id}) query ${target.refId}`, expr: target.expr });
    }
  }
  return queries;
}

/** Lists the metrics that some dashboard query selects. */
function shownMetrics(dashboard: Dashboard, catalogue: ReadonlyMap<string, SeriesDefinition>): Set<string> {
  const shown = new Set<string>();
  for (const query of queriesOf(dashboard)) {
    for (const selector of summarizeExpression(substituteGrafanaVariables(query.expr)).selectors) {
      const metric = catalogue.get(selector.metric)?.metric;
      if (metric) shown.add(metric.name);
    }
  }
  return shown;
}

/** Splits Grafana's `label_values(selector, label)` variable query. */
function parseLabelValuesQuery(query: string): { selector: string; label: string } | undefined {
  const match = /^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)$/.exec(query.trim());
  return match ? { selector: match[1], label: match[2] } : undefined;
}

const dashboardText = readFileSync(DASHBOARD_FILE, 'utf8');
let dashboard: Dashboard;
let definitions: MetricDefinition[];
let catalogue: Map<string, SeriesDefinition>;

beforeAll(async () => {
  dashboard = JSON.parse(dashboardText) as Dashboard;
  definitions = await loadMetricDefinitions();
  catalogue = buildSeriesCatalogue(definitions);
});

describe('Grafana dashboard file', () => {
  it('is valid JSON with a current schema', () => {
    expect(() => JSON.parse(dashboardText)).not.toThrow();
    // Grafana's file provisioning reads the sidecar's files in the classic JSON model. 42 is the schema version the file was written for.
    expect(dashboard.schemaVersion).toBe(42);
    expect(dashboard.uid).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
    expect(dashboard.title).not.toBe('');
  });

  it('has unique panel ids', () => {
    const panels = allPanels(dashboard.panels);
    expect(panels.filter((panel) => !Number.isInteger(panel.id)).map((panel) => panel.title)).toEqual([]);
    const ids = panels.map((panel) => panel.id);
    const duplicates = ids.filter((id, index) => ids.indexOf(id) !== index);
    expect(duplicates).toEqual([]);
  });

  it('uses the datasource variable everywhere', () => {
    const variable = dashboard.templating.list.find((entry) => entry.name === 'datasource');
    expect(variable).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const wrong: string[] = [];
    for (const panel of allPanels(dashboard.panels)) {
      if (panel.type === 'row') continue;
      if (panel.datasource?.uid !== '${datasource}' || panel.datasource?.type !== 'prometheus') wrong.push(`panel "${panel.title}"`);
      for (const target of panel.targets ?? []) {
        if (target.datasource?.uid !== '${datasource}') wrong.push(`panel "${panel.title}" query ${target.refId}`);
      }
    }
    for (const entry of dashboard.templating.list.filter((item) => item.type === 'query')) {
      if (entry.datasource?.uid !== '${datasource}') wrong.push(`variable ${entry.name}`);
    }
    expect(wrong).toEqual([]);
  });

  it('has namespace and MildnetJob variables', () => {
    const names = dashboard.templating.list.map((entry) => entry.name);
    expect(names).toEqual(expect.arrayContaining(['datasource', 'namespace', 'mildnetjob', 'operator_namespace']));
  });

  it('lays panels on the 24-column grid without overlap', () => {
    const cells = new Map<string, string>();
    const problems: string[] = [];
    for (const panel of allPanels(dashboard.panels)) {
      const position = panel.gridPos;
      if (!position) {
        problems.push(`panel "${panel.title}" has no gridPos`);
        continue;
      }
      if (position.x + position.w > 24) problems.push(`panel "${panel.title}" ends at column ${position.x + position.w}, past 24`);
      for (let x = position.x; x < position.x + position.w; x++) {
        for (let y = position.y; y < position.y + position.h; y++) {
          const other = cells.get(`${x},${y}`);
          if (other) problems.push(`panel "${panel.title}" overlaps "${other}" at x=${x}, y=${y}`);
          cells.set(`${x},${y}`, panel.title ?? '');
        }
      }
    }
    expect([...new Set(problems)]).toEqual([]);
  });
});

describe('dashboard queries against the metric definitions', () => {
  it('parse as PromQL', () => {
    const errors = queriesOf(dashboard).flatMap((query) => summarizeExpression(substituteGrafanaVariables(query.expr)).errors.map((error) => `${query.where}: ${error}`));
    expect(errors).toEqual([]);
  });

  it('select defined metrics and labels with the right function', () => {
    const problems: string[] = [];
    for (const query of queriesOf(dashboard)) {
      const expr = substituteGrafanaVariables(query.expr);
      problems.push(...checkExpression(expr, catalogue).map((problem) => `${query.where}: ${problem}`));
    }
    expect(problems).toEqual([]);
  });

  it('have template variables over defined metrics and labels', () => {
    const problems: string[] = [];
    for (const entry of dashboard.templating.list.filter((item) => item.type === 'query')) {
      const query = typeof entry.query === 'string' ? entry.query : (entry.query as { query: string }).query;
      const parsed = parseLabelValuesQuery(query);
      if (!parsed) {
        problems.push(`variable ${entry.name}: query "${query}" is not label_values(selector, label)`);
        continue;
      }
      const summary = summarizeExpression(parsed.selector);
      problems.push(...summary.errors.map((error) => `variable ${entry.name}: ${error}`));
      for (const selector of summary.selectors) {
        problems.push(...checkSelector(selector, catalogue).map((problem) => `variable ${entry.name}: ${problem}`));
        if (!catalogue.get(selector.metric)?.labelNames.has(parsed.label)) problems.push(`variable ${entry.name}: ${selector.metric} has no label "${parsed.label}"`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('show every defined metric or give a reason', () => {
    const shown = shownMetrics(dashboard, catalogue);
    const notShown = metricsNotShown(definitions);
    const missing = definitions.map((metric) => metric.name).filter((name) => !shown.has(name) && !notShown.has(name));
    expect(missing).toEqual([]);
  });

  it('keeps the list of hidden metrics current', () => {
    const defined = new Set(definitions.map((metric) => metric.name));
    const shown = shownMetrics(dashboard, catalogue);
    const notShown = [...metricsNotShown(definitions).keys()];
    expect(notShown.filter((name) => !defined.has(name))).toEqual([]);
    expect(notShown.filter((name) => shown.has(name))).toEqual([]);
  });
});

describe('dashboard checks', () => {
  // Each case is a query the checks must reject, so a check that stops working fails here.
  const rejected: [string, string, RegExp][] = [
    ['unknown metric', 'mildnet_trainer_stepz{job="mildnet-trainer"}', /not defined/],
    ['bare histogram name', 'mildnet_trainer_step_duration_seconds{job="mildnet-trainer"}', /select mildnet_trainer_step_duration_seconds_bucket/],
    ['unknown label', 'mildnet_trainer_loss{job="mildnet-trainer", spilt="val"}', /label "spilt" does not exist/],
    ['operator label on trainer', 'mildnet_trainer_step{job="mildnet-trainer", phase="Running"}', /label "phase" does not exist/],
    ['missing job', 'process_resident_memory_bytes', /no job matcher/],
    ['wrong job', 'mildnet_operator_leader{job="mildnet-trainer"}', /does not select the operator/],
    ['rate over gauge', 'rate(mildnet_trainer_step{job="mildnet-trainer"}[5m])', /rate\(\) needs a counter/],
    ['raw counter', 'mildnet_trainer_images_total{job="mildnet-trainer"}', /wrap it in rate\(\)/],
    ['quantile over gauge', 'histogram_quantile(0.9, max by (le) (mildnet_trainer_tensors{job="mildnet-trainer"}))', /histogram_quantile\(\) needs the _bucket series/],
    ['bucket outside quantile', 'sum(rate(mildnet_trainer_step_duration_seconds_bucket{job="mildnet-trainer"}[5m]))', /only meaningful inside histogram_quantile/],
    ['grouping by unknown label', 'sum by (phase) (mildnet_trainer_loss{job="mildnet-trainer"})', /names "phase"/],
    ['quantile without le', 'histogram_quantile(0.9, sum by (pod) (rate(mildnet_trainer_step_duration_seconds_bucket{job="mildnet-trainer"}[5m])))', /drops the le label/],
  ];

  it.each(rejected)('rejects %s', (_name, expr, message) => {
    expect(checkExpression(expr, catalogue).join('\n')).toMatch(message);
  });

  it('rejects a query that does not parse', () => {
    expect(summarizeExpression('sum by (le (rate(x[5m]))').errors).not.toEqual([]);
  });
});
