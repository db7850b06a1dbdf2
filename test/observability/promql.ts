/**
 * Reads PromQL expressions with the Prometheus UI's own grammar
 * (@prometheus-io/lezer-promql) and lists what the observability tests check:
 * the vector selectors with their label matchers and the functions around
 * them, and the labels of every by/without/on/ignoring/group_left clause.
 */
import { parser } from '@prometheus-io/lezer-promql';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

export interface LabelMatcher {
  name: string;
  operator: string;
  /** The matched value with its quotes removed. */
  value: string;
}

export interface SelectorUse {
  metric: string;
  matchers: LabelMatcher[];
  /** Names of the function calls around the selector, innermost first. */
  enclosingFunctions: string[];
  /** Source text of the selector, for messages. */
  text: string;
}

export interface GroupingUse {
  /** by, without, on, ignoring, group_left or group_right. */
  clause: string;
  labels: string[];
  /** True when the clause is inside a histogram_quantile call. */
  insideHistogramQuantile: boolean;
  text: string;
}

export interface ExpressionSummary {
  selectors: SelectorUse[];
  groupings: GroupingUse[];
  /** Parse errors with their offset, empty for a valid expression. */
  errors: string[];
}

/**
 * Grafana's built-in interval variables, replaced by a fixed duration before
 * parsing, because `[$__rate_interval]` is not PromQL. Other variables, such
 * as `$namespace`, only appear inside label values, which are strings.
 */
const GRAFANA_DURATION_VARIABLES = /\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g;

export function substituteGrafanaVariables(expr: string): string {
  return expr.replace(GRAFANA_DURATION_VARIABLES, '5m');
}

function textOf(source: string, node: SyntaxNode): string {
  return source.slice(node.from, node.to);
}

/**
 * Removes the quotes of a PromQL string literal. JSON.parse decodes the
 * escapes of a double-quoted literal, but throws on the Go escapes \a, \v,
 * \x, \U and octal ones. Single-quoted literals keep their escapes.
 */
function unquote(literal: string): string {
  if (literal.startsWith('"')) return JSON.parse(literal) as string;
  return literal.slice(1, -1);
}

function functionNameOf(source: string, call: SyntaxNode): string {
  const identifier = call.getChild('FunctionIdentifier');
  return identifier ? textOf(source, identifier) : '';
}

function isInsideHistogramQuantile(source: string, node: SyntaxNode): boolean {
  for (let parent = node.parent; parent; parent = parent.parent) {
    if (parent.name === 'FunctionCall' && functionNameOf(source, parent) === 'histogram_quantile') return true;
  }
  return false;
}

function readSelector(source: string, node: SyntaxNode): SelectorUse {
  const identifier = node.getChild('Identifier');
  const matchers: LabelMatcher[] = [];
  const matcherList = node.getChild('LabelMatchers');
  for (const matcher of matcherList ? matcherList.getChildren('UnquotedLabelMatcher') : []) {
    const name = matcher.getChild('LabelName');
    const operator = matcher.getChild('MatchOp');
    const value = matcher.getChild('StringLiteral');
    matchers.push({
      name: name ? textOf(source, name) : '',
      operator: operator ? textOf(source, operator) : '',
      value: value ? unquote(textOf(source, value)) : '',
    });
  }
  const enclosingFunctions: string[] = [];
  for (let parent = node.parent; parent; parent = parent.parent) {
    if (parent.name === 'FunctionCall') enclosingFunctions.push(functionNameOf(source, parent));
  }
  return { metric: identifier ? textOf(source, identifier) : '', matchers, enclosingFunctions, text: textOf(source, node) };
}

function readGrouping(source: string, clause: string, labelsNode: SyntaxNode | null, at: SyntaxNode): GroupingUse {
  const labels = labelsNode ? labelsNode.getChildren('LabelName').map((label) => textOf(source, label)) : [];
  return { clause, labels, insideHistogramQuantile: isInsideHistogramQuantile(source, at), text: textOf(source, at) };
}

/**
 * Parses one expression and lists its selectors, grouping clauses and syntax
 * errors. Dashboard queries must go through substituteGrafanaVariables first.
 */
export function summarizeExpression(expr: string): ExpressionSummary {
  const summary: ExpressionSummary = { selectors: [], groupings: [], errors: [] };
  const tree = parser.parse(expr);
  tree.iterate({
    enter: (ref) => {
      const node = ref.node;
      if (node.type.isError) {
        summary.errors.push(`syntax error at offset ${node.from}: "${expr.slice(Math.max(0, node.from - 20), node.to + 20)}"`);
        return;
      }
      switch (node.name) {
        case 'VectorSelector':
          summary.selectors.push(readSelector(expr, node));
          break;
        case 'AggregateModifier': {
          const keyword = node.getChild('By') ? 'by' : 'without';
          summary.groupings.push(readGrouping(expr, keyword, node.getChild('GroupingLabels'), node));
          break;
        }
        case 'MatchingModifierClause': {
          const keyword = node.getChild('On') ? 'on' : 'ignoring';
          const groupings = node.getChildren('GroupingLabels');
          summary.groupings.push(readGrouping(expr, keyword, groupings[0] ?? null, node));
          if (groupings[1] && node.getChild('GroupLeft')) summary.groupings.push(readGrouping(expr, 'group_left', groupings[1], node));
          if (groupings[1] && node.getChild('GroupRight')) summary.groupings.push(readGrouping(expr, 'group_right', groupings[1], node));
          break;
        }
      }
    },
  });
  return summary;
}

/**
 * Returns the aggregations inside each histogram_quantile call that do not
 * keep the `le` label, because without it histogram_quantile has no buckets.
 */
export function aggregationsDroppingLe(expr: string): string[] {
  const problems: string[] = [];
  parser.parse(expr).iterate({
    enter: (ref) => {
      const node = ref.node;
      if (node.name !== 'AggregateExpr' || !isInsideHistogramQuantile(expr, node)) return;
      const modifier = node.getChild('AggregateModifier');
      const labels = modifier?.getChild('GroupingLabels')?.getChildren('LabelName').map((label) => textOf(expr, label)) ?? [];
      let keepsLe = false;
      if (modifier?.getChild('By')) keepsLe = labels.includes('le');
      if (modifier?.getChild('Without')) keepsLe = !labels.includes('le');
      if (!keepsLe) problems.push(textOf(expr, node));
    },
  });
  return problems;
}
