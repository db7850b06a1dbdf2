import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { parseAllDocuments, stringify } from 'yaml';

import { allAlertRules, CHART_DIR, KUBE_VERSION, readRuleGroups, RULE_TESTS_FILE, RULES_FILE, type RuleGroup } from './rules';
import { describeWithTool, HELM, PROMTOOL, runTool } from './tools';

let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'mildnet-promtool-'));
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describeWithTool(PROMTOOL, 'alert rules with promtool', (promtool) => {
  it('pass promtool check rules', () => {
    const result = runTool(promtool, ['check', 'rules', RULES_FILE]);
    const count = allAlertRules(readRuleGroups()).length;
    expect(`${result.stdout}${result.stderr}`).toContain(`SUCCESS: ${count} rules found`);
    expect(result.status).toBe(0);
  });

  it('pass their promtool unit tests', () => {
    const result = runTool(promtool, ['test', 'rules', RULE_TESTS_FILE]);
    expect(`${result.stdout}${result.stderr}`).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  it('reject a rule file with an invalid expression', () => {
    const groups = readRuleGroups();
    groups[0].rules[0] = { ...groups[0].rules[0], expr: 'sum by (namespace (mildnet_trainer_step)' };
    const file = path.join(scratch, 'broken.rules.yaml');
    writeFileSync(file, stringify({ groups }));
    const result = runTool(promtool, ['check', 'rules', file]);
    expect(result.status).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toMatch(/parse error/i);
  });

  it('fail a test whose alert does not fire', () => {
    // The trainer stays up, so MildnetTrainerDown cannot fire at 8m.
    const tests = {
      rule_files: [RULES_FILE],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [{ series: 'up{job="mildnet-trainer", namespace="ml", mildnetjob="tops", pod="tops-x7k2p"}', values: '1x12' }],
          alert_rule_test: [
            {
              eval_time: '8m',
              alertname: 'MildnetTrainerDown',
              exp_alerts: [{ exp_labels: { severity: 'warning', job: 'mildnet-trainer', namespace: 'ml', mildnetjob: 'tops', pod: 'tops-x7k2p' } }],
            },
          ],
        },
      ],
    };
    const file = path.join(scratch, 'wrong.test.yaml');
    writeFileSync(file, stringify(tests));
    const result = runTool(promtool, ['test', 'rules', file]);
    expect(result.status).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toContain('MildnetTrainerDown');
  });

  describeWithTool(HELM, 'rendered by the chart', (helm) => {
    it('pass promtool check rules with changed thresholds', () => {
      const sets = [
        'prometheusRule.enabled=true',
        'prometheusRule.thresholds.stallSeconds=3600',
        'prometheusRule.thresholds.checkpointMaxAgeSeconds=14400',
        'prometheusRule.thresholds.valLossRiseRatio=2.5',
        'prometheusRule.thresholds.storageRetriesPer10Minutes=100',
        'prometheusRule.thresholds.tensorGrowthPer30Minutes=25',
        'prometheusRule.thresholds.reconcileErrorRatio=0.25',
        'prometheusRule.thresholds.apiErrorRatio=0.2',
        'prometheusRule.thresholds.workQueueDepth=500',
        'prometheusRule.thresholds.workQueueLatencySeconds=45',
        'prometheusRule.ruleLabels.team=ml',
      ];
      const rendered = runTool(helm, ['template', 'mildnet', CHART_DIR, '--kube-version', KUBE_VERSION, '--show-only', 'templates/monitoring/prometheusrule.yaml', ...sets.flatMap((set) => ['--set', set])]);
      expect(rendered.stderr).toBe('');
      const [rule] = parseAllDocuments(rendered.stdout).map((document) => document.toJS() as { spec: { groups: RuleGroup[] } });
      const file = path.join(scratch, 'rendered.rules.yaml');
      writeFileSync(file, stringify({ groups: rule.spec.groups }));
      expect(existsSync(file)).toBe(true);

      const result = runTool(promtool, ['check', 'rules', file]);
      expect(`${result.stdout}${result.stderr}`).toContain(`SUCCESS: ${allAlertRules(readRuleGroups()).length} rules found`);
      expect(result.status).toBe(0);
    });
  });
});
