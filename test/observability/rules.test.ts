import { readFileSync } from 'node:fs';
import path from 'node:path';

import { parse } from 'yaml';

import { buildSeriesCatalogue, checkExpression, loadMetricDefinitions, type SeriesDefinition } from './metric-catalogue';
import { summarizeExpression } from './promql';
import { allAlertRules, readChartValues, readRuleGroups, RULE_TESTS_FILE, thresholdMarkers, type AlertRule } from './rules';
import { REPO_ROOT } from './tools';

const SEVERITIES = ['critical', 'warning', 'info'];

let rules: AlertRule[];
let catalogue: Map<string, SeriesDefinition>;

beforeAll(async () => {
  rules = allAlertRules(readRuleGroups());
  catalogue = buildSeriesCatalogue(await loadMetricDefinitions());
});

describe('alert rule file', () => {
  it('has uniquely named alerts', () => {
    const names = rules.map((rule) => rule.alert);
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
    expect(names.filter((name) => !/^Mildnet[A-Z][A-Za-z]+$/.test(name))).toEqual([]);
  });

  it('gives every alert a severity, summary and description', () => {
    const problems: string[] = [];
    for (const rule of rules) {
      if (!SEVERITIES.includes(rule.labels?.severity ?? '')) problems.push(`${rule.alert}: severity "${rule.labels?.severity}" is not one of ${SEVERITIES.join(', ')}`);
      if (!rule.annotations?.summary) problems.push(`${rule.alert}: no summary annotation`);
      if (!rule.annotations?.description) problems.push(`${rule.alert}: no description annotation`);
    }
    expect(problems).toEqual([]);
  });

  it('gives every alert a for duration', () => {
    const invalid = rules.filter((rule) => !/^[0-9]+[smh]$/.test(rule.for ?? ''));
    expect(invalid.map((rule) => `${rule.alert}: for "${rule.for}" is not a duration such as 5m`)).toEqual([]);
  });

  it('parses every expression as PromQL', () => {
    const errors = rules.flatMap((rule) => summarizeExpression(rule.expr).errors.map((error) => `${rule.alert}: ${error}`));
    expect(errors).toEqual([]);
  });

  it('uses defined metrics and labels with the right function', () => {
    const problems: string[] = [];
    for (const rule of rules) {
      problems.push(...checkExpression(rule.expr, catalogue).map((problem) => `${rule.alert}: ${problem}`));
    }
    expect(problems).toEqual([]);
  });
});

describe('alert thresholds', () => {
  it('mark a number on each marked line', () => {
    const bad = thresholdMarkers(rules).filter((marker) => Number.isNaN(marker.value));
    expect(bad).toEqual([]);
  });

  it('match the defaults in values.yaml', () => {
    const defaults = readChartValues().prometheusRule.thresholds;
    const problems: string[] = [];
    for (const marker of thresholdMarkers(rules)) {
      if (!(marker.key in defaults)) problems.push(`${marker.alert}: prometheusRule.thresholds.${marker.key} is not in values.yaml`);
      else if (defaults[marker.key] !== marker.value) problems.push(`${marker.alert}: the rule file has ${marker.value} for ${marker.key}, values.yaml has ${defaults[marker.key]}`);
    }
    expect(problems).toEqual([]);
  });

  it('are all used by some rule', () => {
    const used = new Set(thresholdMarkers(rules).map((marker) => marker.key));
    const unused = Object.keys(readChartValues().prometheusRule.thresholds).filter((key) => !used.has(key));
    expect(unused).toEqual([]);
  });
});

describe('alert runbook', () => {
  const runbook = readFileSync(path.join(REPO_ROOT, 'docs/alerts.md'), 'utf8');
  const sections = [...runbook.matchAll(/^## (\S+)\s*$/gm)].map((match) => match[1]);

  it('has a section for every alert', () => {
    expect(rules.map((rule) => rule.alert).filter((alert) => !sections.includes(alert))).toEqual([]);
  });

  it('has no section for an alert that does not exist', () => {
    const alerts = new Set(rules.map((rule) => rule.alert));
    expect(sections.filter((section) => section.startsWith('Mildnet') && !alerts.has(section))).toEqual([]);
  });

  it('names the threshold keys of each alert', () => {
    const problems: string[] = [];
    for (const marker of thresholdMarkers(rules)) {
      const section = runbook.split(/^## /m).find((part) => part.startsWith(`${marker.alert}\n`)) ?? '';
      if (!section.includes(`prometheusRule.thresholds.${marker.key}`)) problems.push(`${marker.alert}: runbook does not mention prometheusRule.thresholds.${marker.key}`);
    }
    expect(problems).toEqual([]);
  });
});

describe('promtool unit test file', () => {
  type AlertCheck = { alertname: string; exp_alerts?: unknown[] };
  const tests = (parse(readFileSync(RULE_TESTS_FILE, 'utf8')) as { tests: { alert_rule_test?: AlertCheck[] }[] }).tests;
  const checks = tests.flatMap((test) => test.alert_rule_test ?? []);

  it('makes every alert fire at least once', () => {
    const firing = new Set(checks.filter((check) => (check.exp_alerts ?? []).length > 0).map((check) => check.alertname));
    expect(rules.map((rule) => rule.alert).filter((alert) => !firing.has(alert))).toEqual([]);
  });

  it('makes every alert stay silent once', () => {
    const silent = new Set(checks.filter((check) => (check.exp_alerts ?? []).length === 0).map((check) => check.alertname));
    expect(rules.map((rule) => rule.alert).filter((alert) => !silent.has(alert))).toEqual([]);
  });
});
