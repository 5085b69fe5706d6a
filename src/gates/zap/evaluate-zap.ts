import { cell, code, fitSummary, table } from '../markdown.js';
import type { GateResult } from '../types.js';
import { ZAP_RISKS, type ZapAlert, type ZapReport, type ZapRisk } from './parse-zap-report.js';

export interface ZapRule {
  /** Scan rule id (`10038`) or alert reference (`10055-4`); an alertRef match wins over a plugin id. */
  id: string;
  /** As in ZAP's rules file: IGNORE, WARN (never fails) or FAIL (fails whatever the risk). */
  action: 'ignore' | 'warn' | 'fail';
}

export interface ZapPolicy {
  /** Lowest risk that fails the gate when no rule says otherwise. @defaultValue `'high'` */
  failThreshold?: ZapRisk | undefined;
  /** @defaultValue [] */
  rules?: readonly ZapRule[] | undefined;
}

const ICON: Record<ZapRisk, string> = { high: '🔴', medium: '🟠', low: '🟡', informational: '🔵' };
const LABEL: Record<ZapRisk, string> = {
  high: 'High',
  medium: 'Medium',
  low: 'Low',
  informational: 'Informational',
};

type Verdict = 'fail' | 'warn' | 'ignore';

function ruleFor(alert: ZapAlert, rules: readonly ZapRule[]): ZapRule | undefined {
  return rules.find((r) => r.id === alert.alertRef) ?? rules.find((r) => r.id === alert.pluginId);
}

/** Applies the threshold and per-rule overrides to a parsed ZAP report; pure. */
export function evaluateZap(report: ZapReport, policy: ZapPolicy = {}): GateResult {
  const threshold = ZAP_RISKS.indexOf(policy.failThreshold ?? 'high');
  const rules = policy.rules ?? [];
  const judged = report.alerts.map((alert) => {
    const rule = ruleFor(alert, rules);
    const verdict: Verdict = rule?.action ?? (ZAP_RISKS.indexOf(alert.risk) >= threshold ? 'fail' : 'warn');
    return { alert, verdict, rule };
  });

  const counts: Record<string, number> = { high: 0, medium: 0, low: 0, informational: 0, ignored: 0 };
  for (const { alert, verdict } of judged) {
    if (verdict === 'ignore') counts.ignored! += 1;
    else counts[alert.risk]! += 1;
  }
  // Alerts cut from a huge report cannot be matched to rules: the threshold alone decides (fail closed).
  let blocking = judged.filter((j) => j.verdict === 'fail').length;
  for (const risk of ZAP_RISKS) {
    counts[risk]! += report.omitted[risk];
    if (ZAP_RISKS.indexOf(risk) >= threshold) blocking += report.omitted[risk];
  }
  counts.blocking = blocking;

  const active = judged.filter((j) => j.verdict !== 'ignore');
  const byRisk = [...ZAP_RISKS]
    .reverse()
    .filter((r) => counts[r]! > 0)
    .map((r) => `${counts[r]} ${LABEL[r]}`)
    .join(', ');
  const title =
    blocking > 0
      ? `${blocking} failing alert${blocking === 1 ? '' : 's'} (${byRisk})`
      : active.length > 0
        ? `No failing alerts (${byRisk})`
        : 'No alerts';

  const lines: string[] = [
    `ZAP baseline scan${report.version ? ` (ZAP ${cell(report.version, 20)})` : ''} of ${report.sites.map((s) => code(s, 100)).join(', ') || 'no site'}. ` +
      `Fails at risk ${LABEL[ZAP_RISKS[threshold]!]} and above, and on rules set to FAIL.`,
    '',
    table(
      ['Risk', 'Alerts'],
      [...ZAP_RISKS]
        .reverse()
        .map((r) => [
          `${ICON[r]} ${LABEL[r]}${ZAP_RISKS.indexOf(r) >= threshold ? ' (fails)' : ''}`,
          String(counts[r]),
        ]),
    ),
    '',
    `Ignored by rule: ${counts.ignored}`,
  ];
  const omittedTotal = ZAP_RISKS.reduce((n, r) => n + report.omitted[r], 0);
  if (omittedTotal > 0)
    lines.push('', `The report was very large: ${omittedTotal} alerts are counted but not listed.`);
  if (report.malformedEntries > 0)
    lines.push('', `${report.malformedEntries} malformed entries were skipped.`);

  for (const { alert, verdict, rule } of active) {
    const mark = verdict === 'fail' ? '❌ FAIL' : '⚠️ WARN';
    const why = rule ? ` (rule ${code(rule.id, 30)}: ${rule.action.toUpperCase()})` : '';
    lines.push(
      '',
      `#### ${ICON[alert.risk]} ${LABEL[alert.risk]}: ${cell(alert.name, 120)} — ${mark}${why}`,
      '',
      `Rule ${code(alert.alertRef, 30)}${alert.cweId && alert.cweId !== '-1' ? ` · CWE-${cell(alert.cweId, 10)}` : ''} · ` +
        `${alert.instanceCount} instance${alert.instanceCount === 1 ? '' : 's'}`,
      '',
    );
    for (const i of alert.instances) {
      const extra = [
        i.param ? `param ${code(i.param, 60)}` : '',
        i.evidence ? `evidence ${code(i.evidence, 120)}` : '',
      ]
        .filter(Boolean)
        .join(' · ');
      lines.push(`- ${cell(i.method ?? 'GET', 10)} ${code(i.uri, 200)}${extra ? ` — ${extra}` : ''}`);
    }
    if (alert.instanceCount > alert.instances.length) {
      lines.push(`- …and ${alert.instanceCount - alert.instances.length} more`);
    }
  }
  const ignoredAlerts = judged.filter((j) => j.verdict === 'ignore');
  if (ignoredAlerts.length > 0) {
    lines.push(
      '',
      `Ignored: ${ignoredAlerts.map(({ alert }) => `${cell(alert.name, 60)} (${code(alert.alertRef, 20)})`).join(', ')}`,
    );
  }

  return {
    gate: 'zap',
    conclusion: blocking > 0 ? 'failure' : 'success',
    title,
    summary: fitSummary(lines.join('\n')),
    annotations: [],
    counts,
  };
}
