import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { parseAllDocuments } from 'yaml';

import { MILDNETJOB_LABEL } from '../../operator/src/api/constants';
import { childLabels } from '../../operator/src/render/names';
import { SCRAPE_JOBS } from './metric-catalogue';
import { allAlertRules, CHART_DIR, DASHBOARD_FILE, KUBE_VERSION, readRuleGroups, thresholdMarkers, type AlertRule, type RuleGroup } from './rules';
import { describeWithTool, HELM, runTool } from './tools';

const ALL_MONITORING = ['prometheusRule.enabled=true', 'metrics.serviceMonitor.enabled=true', 'metrics.trainerServiceMonitor.enabled=true'];

interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}

interface Relabeling {
  sourceLabels?: string[];
  targetLabel: string;
  replacement?: string;
}

interface ServiceMonitorSpec {
  selector: { matchLabels: Record<string, string> };
  namespaceSelector?: { any?: boolean; matchNames?: string[] };
  endpoints: { port: string; relabelings?: Relabeling[] }[];
}

describeWithTool(HELM, 'mildnet-operator chart monitoring', (helm) => {
  function template(sets: string[]): { status: number | null; objects: RenderedObject[]; stderr: string } {
    const args = ['template', 'mildnet', CHART_DIR, '--namespace', 'mildnet-system', '--kube-version', KUBE_VERSION, ...sets.flatMap((set) => ['--set', set])];
    const result = runTool(helm, args);
    const objects = result.status === 0 ? parseAllDocuments(result.stdout).map((document) => document.toJS() as RenderedObject).filter(Boolean) : [];
    return { status: result.status, objects, stderr: result.stderr };
  }

  function find(objects: RenderedObject[], kind: string, name?: string): RenderedObject[] {
    return objects.filter((object) => object.kind === kind && (name === undefined || object.metadata.name === name));
  }

  function renderedAlertRules(objects: RenderedObject[]): AlertRule[] {
    const [rule] = find(objects, 'PrometheusRule');
    return allAlertRules((rule.spec as { groups: RuleGroup[] }).groups);
  }

  it('passes helm lint with defaults', () => {
    const result = runTool(helm, ['lint', CHART_DIR, '--strict', '--kube-version', KUBE_VERSION]);
    expect(`${result.stdout}${result.stderr}`).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(result.status).toBe(0);
  });

  it('passes helm lint with monitoring on', () => {
    const result = runTool(helm, ['lint', CHART_DIR, '--strict', '--kube-version', KUBE_VERSION, ...ALL_MONITORING.flatMap((set) => ['--set', set])]);
    expect(`${result.stdout}${result.stderr}`).toMatch(/0 chart\(s\) failed/);
    expect(result.status).toBe(0);
  });

  it('renders no Prometheus objects by default', () => {
    const { status, objects, stderr } = template([]);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(find(objects, 'ConfigMap', 'mildnet-mildnet-operator-dashboards')).toHaveLength(1);
    expect(find(objects, 'PrometheusRule')).toEqual([]);
    expect(find(objects, 'ServiceMonitor')).toEqual([]);
  });

  it('ships the dashboard unchanged with sidecar label', () => {
    const [configMap] = find(template([]).objects, 'ConfigMap', 'mildnet-mildnet-operator-dashboards');
    expect(configMap.data?.['mildnet.json']).toBe(readFileSync(DASHBOARD_FILE, 'utf8'));
    expect(configMap.metadata.labels?.grafana_dashboard).toBe('1');
    expect(configMap.metadata.namespace).toBe('mildnet-system');
  });

  it('applies the dashboard labels, annotations and namespace', () => {
    const { objects } = template(['dashboards.labels.grafana_dashboard=null', 'dashboards.labels.dashboards=mildnet', 'dashboards.annotations.grafana_folder=MILDNet', 'dashboards.namespace=monitoring']);
    const [configMap] = find(objects, 'ConfigMap', 'mildnet-mildnet-operator-dashboards');
    expect(configMap.metadata.labels?.dashboards).toBe('mildnet');
    expect(configMap.metadata.labels).not.toHaveProperty('grafana_dashboard');
    expect(configMap.metadata.annotations).toEqual({ grafana_folder: 'MILDNet' });
    expect(configMap.metadata.namespace).toBe('monitoring');
  });

  it('leaves the dashboard out when dashboards.enabled is false', () => {
    const { status, objects } = template(['dashboards.enabled=false']);
    expect(status).toBe(0);
    expect(find(objects, 'ConfigMap', 'mildnet-mildnet-operator-dashboards')).toEqual([]);
    expect(find(objects, 'ConfigMap', 'mildnet-mildnet-operator')).toHaveLength(1);
  });

  it('ships the rule file unchanged with default values', () => {
    const { status, objects } = template(ALL_MONITORING);
    expect(status).toBe(0);
    const [rule] = find(objects, 'PrometheusRule');
    expect(rule.metadata.name).toBe('mildnet-mildnet-operator');
    expect((rule.spec as { groups: RuleGroup[] }).groups).toEqual(readRuleGroups());
  });

  it('puts extra labels on the PrometheusRule and its alerts', () => {
    const { objects } = template([...ALL_MONITORING, 'prometheusRule.labels.release=kube-prometheus', 'prometheusRule.ruleLabels.team=ml', 'prometheusRule.ruleLabels.severity=page']);
    const [rule] = find(objects, 'PrometheusRule');
    expect(rule.metadata.labels?.release).toBe('kube-prometheus');
    const rendered = renderedAlertRules(objects);
    const original = allAlertRules(readRuleGroups());
    expect(rendered.map((alert) => alert.labels?.team)).toEqual(original.map(() => 'ml'));
    // A label that the rule sets itself wins over ruleLabels.
    expect(rendered.map((alert) => alert.labels?.severity)).toEqual(original.map((alert) => alert.labels?.severity));
  });

  it('adds runbook links when runbookBaseUrl is set', () => {
    const { objects } = template([...ALL_MONITORING, 'prometheusRule.runbookBaseUrl=https://git.example.com/mildnet/docs/alerts.md']);
    const rendered = renderedAlertRules(objects);
    expect(rendered.find((alert) => alert.alert === 'MildnetTrainingStalled')?.annotations?.runbook_url).toBe('https://git.example.com/mildnet/docs/alerts.md#mildnettrainingstalled');
    const unlinked = rendered.filter((alert) => !alert.annotations?.runbook_url?.endsWith(`#${alert.alert.toLowerCase()}`));
    expect(unlinked.map((alert) => alert.alert)).toEqual([]);
  });

  it('replaces exactly the marked thresholds', () => {
    const { status, objects, stderr } = template([...ALL_MONITORING, 'prometheusRule.thresholds.stallSeconds=3600', 'prometheusRule.thresholds.valLossRiseRatio=2.25', 'prometheusRule.thresholds.tensorGrowthPer30Minutes=50']);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const rendered = new Map(renderedAlertRules(objects).map((rule) => [rule.alert, rule.expr]));
    const original = allAlertRules(readRuleGroups());
    const changed = new Map([
      ['stallSeconds', '3600'],
      ['valLossRiseRatio', '2.25'],
      ['tensorGrowthPer30Minutes', '50'],
    ]);
    for (const rule of original) {
      const expected = rule.expr
        .split('\n')
        .map((line) => {
          const [marker] = thresholdMarkers([{ ...rule, expr: line }]);
          const value = marker ? changed.get(marker.key) : undefined;
          return value === undefined ? line : line.replace(/(.*[^0-9A-Za-z_.])[0-9]+(?:\.[0-9]+)?/, `$1${value}`);
        })
        .join('\n');
      expect({ alert: rule.alert, expr: rendered.get(rule.alert) }).toEqual({ alert: rule.alert, expr: expected });
    }
    expect(rendered.get('MildnetTrainingStalled')).toContain('[3600s]');
    expect(rendered.get('MildnetTrainingStalled')).toContain('> 3600  #');
  });

  it('rejects an unknown threshold key', () => {
    const { status, stderr } = template([...ALL_MONITORING, 'prometheusRule.thresholds.stalSeconds=60']);
    expect(status).not.toBe(0);
    expect(stderr).toContain('prometheusRule.thresholds.stalSeconds is not a threshold of any alert rule');
    expect(stderr).toContain('stallSeconds');
  });

  it('rejects a threshold that is not a number', () => {
    const { status, stderr } = template([...ALL_MONITORING, 'prometheusRule.thresholds.stallSeconds=30m']);
    expect(status).not.toBe(0);
    expect(stderr).toContain('prometheusRule.thresholds.stallSeconds is 30m; expected a non-negative number');
  });

  it('leaves out disabled alerts', () => {
    const { objects } = template([...ALL_MONITORING, 'prometheusRule.disabledAlerts={MildnetValidationLossRising,MildnetTensorLeak}']);
    const names = renderedAlertRules(objects).map((rule) => rule.alert);
    expect(names).not.toContain('MildnetValidationLossRising');
    expect(names).not.toContain('MildnetTensorLeak');
    expect(names).toHaveLength(allAlertRules(readRuleGroups()).length - 2);
  });

  it('rejects an unknown disabled alert', () => {
    const unknown = template([...ALL_MONITORING, 'prometheusRule.disabledAlerts={MildnetTrainingStaled}']);
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toContain('prometheusRule.disabledAlerts lists "MildnetTrainingStaled", which is not an alert of the chart');
  });

  it('sets the trainer job and mildnetjob labels', () => {
    const { objects } = template(ALL_MONITORING);
    const [monitor] = find(objects, 'ServiceMonitor', 'mildnet-mildnet-operator-trainers');
    const spec = monitor.spec as unknown as ServiceMonitorSpec;
    // The selector must match the labels the operator puts on each trainer's metrics Service.
    const serviceLabels = childLabels({ metadata: { name: 'mildnet-tops' } } as Parameters<typeof childLabels>[0]);
    expect(serviceLabels).toMatchObject(spec.selector.matchLabels);
    expect(spec.namespaceSelector).toEqual({ any: true });
    expect(spec.endpoints[0].port).toBe('metrics');
    const serviceLabelMeta = `__meta_kubernetes_service_label_${MILDNETJOB_LABEL.replace(/[^A-Za-z0-9_]/g, '_')}`;
    expect(spec.endpoints[0].relabelings).toEqual([
      { sourceLabels: [serviceLabelMeta], targetLabel: 'mildnetjob' },
      { targetLabel: 'job', replacement: SCRAPE_JOBS.trainer },
    ]);
  });

  it('scrapes trainers only in the watched namespace', () => {
    const { objects } = template([...ALL_MONITORING, 'operator.watchNamespace=ml-team']);
    const spec = find(objects, 'ServiceMonitor', 'mildnet-mildnet-operator-trainers')[0].spec as unknown as ServiceMonitorSpec;
    expect(spec.namespaceSelector).toEqual({ matchNames: ['ml-team'] });
  });

  it('sets the operator job label', () => {
    const { objects } = template([...ALL_MONITORING, 'metrics.serviceMonitor.labels.release=kube-prometheus']);
    const [monitor] = find(objects, 'ServiceMonitor', 'mildnet-mildnet-operator');
    const spec = monitor.spec as unknown as ServiceMonitorSpec;
    expect(spec.endpoints[0].relabelings).toEqual([{ targetLabel: 'job', replacement: SCRAPE_JOBS.operator }]);
    expect(monitor.metadata.labels?.release).toBe('kube-prometheus');
    expect(find(objects, 'ServiceMonitor', 'mildnet-mildnet-operator-trainers')[0].metadata.labels?.release).toBe('kube-prometheus');
  });

  it('packages the dashboard and rule files', () => {
    const outDir = mkdtempSync(path.join(os.tmpdir(), 'mildnet-chart-'));
    try {
      const result = runTool(helm, ['package', CHART_DIR, '--destination', outDir]);
      expect(result.status).toBe(0);
      const archive = path.join(outDir, 'mildnet-operator-0.1.0.tgz');
      const listing = execFileSync('tar', ['-tzf', archive], { encoding: 'utf8' }).split('\n');
      expect(listing).toContain('mildnet-operator/dashboards/mildnet.json');
      expect(listing).toContain('mildnet-operator/rules/mildnet.rules.yaml');
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});
