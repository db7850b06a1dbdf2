/** Reads the chart's alert rule file, its threshold markers and the chart's default values. */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { parse } from 'yaml';

import { REPO_ROOT } from './tools';

export const CHART_DIR = path.join(REPO_ROOT, 'charts/mildnet-operator');
export const RULES_FILE = path.join(CHART_DIR, 'rules/mildnet.rules.yaml');
export const RULE_TESTS_FILE = path.join(__dirname, 'mildnet.rules.test.yaml');
export const DASHBOARD_FILE = path.join(CHART_DIR, 'dashboards/mildnet.json');

// The chart requires kubeVersion >=1.30, and helm v3.21 assumes Kubernetes
// v1.20.0 unless --kube-version is given.
export const KUBE_VERSION = '1.33.0';

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

export function readRuleGroups(text = readFileSync(RULES_FILE, 'utf8')): RuleGroup[] {
  return (parse(text) as { groups: RuleGroup[] }).groups;
}

export function allAlertRules(groups: readonly RuleGroup[]): AlertRule[] {
  return groups.flatMap((group) => group.rules);
}

export interface ThresholdMarker {
  alert: string;
  key: string;
  /** Last number on the marked line, which the chart's template replaces. */
  value: number;
  line: string;
}

/**
 * Pattern of a line that ends in a `# prometheusRule.thresholds.KEY` comment,
 * with its last number in group 2. templates/monitoring/prometheusrule.yaml
 * uses the same pattern to replace a threshold.
 */
const MARKED_LINE = /^(.*[^0-9A-Za-z_.])([0-9]+(?:\.[0-9]+)?)([^0-9\n]*#[ \t]*prometheusRule\.thresholds\.([A-Za-z0-9_]+)[ \t]*)$/;
const ANY_MARKER = /#[ \t]*prometheusRule\.thresholds\.([A-Za-z0-9_]*)/;

/** Lists the threshold markers of every rule. A marker on a line without a number gets the value NaN. */
export function thresholdMarkers(rules: readonly AlertRule[]): ThresholdMarker[] {
  const markers: ThresholdMarker[] = [];
  for (const rule of rules) {
    for (const line of rule.expr.split('\n')) {
      const marker = ANY_MARKER.exec(line);
      if (!marker) continue;
      const match = MARKED_LINE.exec(line);
      markers.push({ alert: rule.alert, key: marker[1], value: match ? Number(match[2]) : Number.NaN, line: line.trim() });
    }
  }
  return markers;
}

export interface ChartValues {
  prometheusRule: { thresholds: Record<string, number>; disabledAlerts: string[] };
  dashboards: { enabled: boolean; labels: Record<string, string> };
}

export function readChartValues(): ChartValues {
  return parse(readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8')) as ChartValues;
}
