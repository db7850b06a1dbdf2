/**
 * The series that Prometheus stores for the trainer and the operator, read
 * from the registries that trainer/src/metrics/definitions.ts and
 * operator/src/metrics.ts create (default Node.js metrics included), plus the
 * target labels that the chart's ServiceMonitors attach.
 */
import type { MetricObject, Registry } from 'prom-client';

import { createMetrics } from '../../operator/src/metrics';
import { createTrainerMetrics } from '../../trainer/src/metrics/definitions';
import { aggregationsDroppingLe, summarizeExpression, type GroupingUse, type LabelMatcher, type SelectorUse } from './promql';

export type Exporter = 'trainer' | 'operator';

export interface MetricDefinition {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary';
  labelNames: string[];
  exporter: Exporter;
}

/** Kind of a stored series. A histogram metric is stored as three series: _bucket, _sum and _count. */
export type SeriesKind = 'counter' | 'gauge' | 'summary' | 'histogram_bucket' | 'histogram_sum' | 'histogram_count' | 'scrape';

export interface SeriesDefinition {
  series: string;
  kind: SeriesKind;
  /** Metric as the registry defines it, or undefined for `up`, which Prometheus writes itself. */
  metric?: MetricDefinition;
  exporters: Exporter[];
  labelNames: Set<string>;
}

/**
 * Value of the `job` label per exporter. The chart's ServiceMonitors set it
 * with a relabeling in templates/operator/servicemonitor.yaml and
 * templates/monitoring/trainer-servicemonitor.yaml.
 */
export const SCRAPE_JOBS: Record<Exporter, string> = {
  trainer: 'mildnet-trainer',
  operator: 'mildnet-operator',
};

/**
 * Labels that every scraped series carries: `job` and `instance` from
 * Prometheus, and `namespace`, `service`, `pod`, `container` and `endpoint`,
 * which the Prometheus Operator sets for ServiceMonitor targets.
 */
export const TARGET_LABELS = ['job', 'instance', 'namespace', 'service', 'pod', 'container', 'endpoint'];

/** Labels that only trainer series carry. The trainer ServiceMonitor copies the MildnetJob name into `mildnetjob`. */
export const TRAINER_TARGET_LABELS = ['mildnetjob'];

/** Functions whose argument must be a counter (or a histogram's counter series). */
export const COUNTER_FUNCTIONS = ['rate', 'irate', 'increase', 'resets'];

function targetLabelsOf(exporter: Exporter): string[] {
  return exporter === 'trainer' ? [...TARGET_LABELS, ...TRAINER_TARGET_LABELS] : TARGET_LABELS;
}

async function readRegistry(registry: Registry, exporter: Exporter): Promise<MetricDefinition[]> {
  const types = new Map((await registry.getMetricsAsJSON()).map((metric) => [metric.name, String(metric.type) as MetricDefinition['type']]));
  return registry.getMetricsAsArray().map((metric) => {
    // prom-client keeps the configured label names on the metric object but leaves them out of its types.
    const { labelNames } = metric as MetricObject & { labelNames?: readonly string[] };
    const type = types.get(metric.name);
    if (!type) throw new Error(`prom-client returned no type for ${metric.name}`);
    return { name: metric.name, type, labelNames: [...(labelNames ?? [])], exporter };
  });
}

/** Creates the trainer's and the operator's registries, with their default metrics, and lists every metric. */
export async function loadMetricDefinitions(): Promise<MetricDefinition[]> {
  const trainer = createTrainerMetrics();
  const operator = createMetrics(() => ({}), true);
  return [...(await readRegistry(trainer.registry, 'trainer')), ...(await readRegistry(operator.registry, 'operator'))];
}

/** Maps every series name that Prometheus stores to its metric, kind and label names. */
export function buildSeriesCatalogue(definitions: readonly MetricDefinition[]): Map<string, SeriesDefinition> {
  const catalogue = new Map<string, SeriesDefinition>();
  const add = (series: string, kind: SeriesKind, metric: MetricDefinition, extraLabels: string[] = []) => {
    if (catalogue.has(series)) throw new Error(`Series ${series} is defined twice (by ${catalogue.get(series)?.exporters.join(', ')} and ${metric.exporter})`);
    const labelNames = new Set([...metric.labelNames, ...extraLabels, ...targetLabelsOf(metric.exporter)]);
    catalogue.set(series, { series, kind, metric, exporters: [metric.exporter], labelNames });
  };
  for (const metric of definitions) {
    if (metric.type === 'histogram') {
      add(`${metric.name}_bucket`, 'histogram_bucket', metric, ['le']);
      add(`${metric.name}_sum`, 'histogram_sum', metric);
      add(`${metric.name}_count`, 'histogram_count', metric);
    } else {
      add(metric.name, metric.type, metric);
    }
  }
  // Prometheus writes `up` for every target, with 1 when the last scrape succeeded and 0 when it failed.
  catalogue.set('up', { series: 'up', kind: 'scrape', exporters: ['trainer', 'operator'], labelNames: new Set(targetLabelsOf('trainer')) });
  return catalogue;
}

/** Returns whether the series only grows, as rate(), irate(), increase() and resets() require. */
export function isCounterSeries(kind: SeriesKind): boolean {
  return kind === 'counter' || kind === 'histogram_bucket' || kind === 'histogram_sum' || kind === 'histogram_count';
}

function describeMatcher(matcher: LabelMatcher): string {
  return `${matcher.name}${matcher.operator}"${matcher.value}"`;
}

/**
 * Checks one selector against the catalogue and returns what is wrong with it.
 * It reports an unknown metric, a label the metric does not have, a missing or
 * wrong `job`, a gauge under rate(), a counter shown raw, and histogram
 * buckets outside histogram_quantile().
 */
export function checkSelector(selector: SelectorUse, catalogue: ReadonlyMap<string, SeriesDefinition>): string[] {
  const problems: string[] = [];
  const series = catalogue.get(selector.metric);
  if (!series) {
    const hint = catalogue.has(`${selector.metric}_bucket`) ? `; it is a histogram, so select ${selector.metric}_bucket, _sum or _count` : '';
    return [`${selector.text}: metric "${selector.metric}" is not defined by the trainer or the operator registries${hint}`];
  }

  for (const matcher of selector.matchers) {
    if (!series.labelNames.has(matcher.name)) {
      problems.push(`${selector.text}: label "${matcher.name}" does not exist on ${selector.metric}; it has ${[...series.labelNames].sort().join(', ')}`);
    }
  }

  const job = selector.matchers.find((matcher) => matcher.name === 'job');
  const expectedJobs = series.exporters.map((exporter) => SCRAPE_JOBS[exporter]);
  if (!job) {
    problems.push(`${selector.text}: selector has no job matcher; add job="${expectedJobs.join('" or job="')}" so it cannot match other applications' series`);
  } else if (job.operator !== '=' || !expectedJobs.includes(job.value)) {
    problems.push(`${selector.text}: ${describeMatcher(job)} does not select the ${series.exporters.join(' or ')}; use job="${expectedJobs.join('" or job="')}"`);
  }

  const innermost = selector.enclosingFunctions[0];
  const underCounterFunction = innermost !== undefined && COUNTER_FUNCTIONS.includes(innermost);
  if (underCounterFunction && !isCounterSeries(series.kind)) {
    problems.push(`${selector.text}: ${innermost}() needs a counter, but ${selector.metric} is a ${series.kind}; use deriv() or delta() for a gauge`);
  }
  if (isCounterSeries(series.kind) && !underCounterFunction) {
    problems.push(`${selector.text}: ${selector.metric} is a ${series.kind} and only grows, so wrap it in rate() or increase()`);
  }
  if (series.kind === 'histogram_bucket' && !selector.enclosingFunctions.includes('histogram_quantile')) {
    problems.push(`${selector.text}: bucket series ${selector.metric} is only meaningful inside histogram_quantile()`);
  }
  return problems;
}

/** Checks that every histogram_quantile() reads bucket series of histograms. */
export function checkHistogramQuantileArguments(selectors: readonly SelectorUse[], catalogue: ReadonlyMap<string, SeriesDefinition>): string[] {
  return selectors
    .filter((selector) => selector.enclosingFunctions.includes('histogram_quantile'))
    .filter((selector) => catalogue.get(selector.metric)?.kind !== 'histogram_bucket')
    .map((selector) => `${selector.text}: histogram_quantile() needs the _bucket series of a histogram, but ${selector.metric} is not one`);
}

/** Checks that every label in by/without/on/ignoring/group_left exists on some series that the expression selects. */
export function checkGroupingLabels(
  expr: string,
  selectors: readonly SelectorUse[],
  groupings: readonly GroupingUse[],
  catalogue: ReadonlyMap<string, SeriesDefinition>,
): string[] {
  // checkSelector already reports an unknown metric, and its labels are unknown, so the check stops here.
  if (selectors.some((selector) => !catalogue.has(selector.metric))) return [];
  const available = new Set<string>();
  for (const selector of selectors) {
    for (const label of catalogue.get(selector.metric)?.labelNames ?? []) available.add(label);
  }
  const problems: string[] = [];
  for (const grouping of groupings) {
    for (const label of grouping.labels) {
      if (!available.has(label)) problems.push(`${expr}: ${grouping.clause} (${grouping.labels.join(', ')}) names "${label}", which no selected series has`);
    }
  }
  return problems;
}

/**
 * Runs every check of this file on one expression and returns the problems.
 * Syntax errors are left to summarizeExpression().errors.
 */
export function checkExpression(expr: string, catalogue: ReadonlyMap<string, SeriesDefinition>): string[] {
  const summary = summarizeExpression(expr);
  return [
    ...summary.selectors.flatMap((selector) => checkSelector(selector, catalogue)),
    ...checkHistogramQuantileArguments(summary.selectors, catalogue),
    ...checkGroupingLabels(expr, summary.selectors, summary.groupings, catalogue),
    ...aggregationsDroppingLe(expr).map((aggregation) => `${aggregation} drops the le label inside histogram_quantile()`),
  ];
}
