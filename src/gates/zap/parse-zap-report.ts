import { ReportInvalid } from '../../errors.js';
import { zapAlertSchema, zapInstanceSchema, zapReportSchema, zapSiteSchema } from './schema.js';

export const ZAP_RISKS = ['informational', 'low', 'medium', 'high'] as const;
export type ZapRisk = (typeof ZAP_RISKS)[number];

export interface ZapInstance {
  uri: string;
  method: string | undefined;
  param: string | undefined;
  evidence: string | undefined;
}

export interface ZapAlert {
  /** The scan rule id (`10038`). */
  pluginId: string;
  /** `alertRef` (`10055-4`) on ZAP ≥ 2.11; the plugin id on older reports. */
  alertRef: string;
  name: string;
  risk: ZapRisk;
  /** ZAP's confidence 0–4 (false positive … user confirmed); undefined when unreadable. */
  confidence: number | undefined;
  site: string;
  solution: string | undefined;
  cweId: string | undefined;
  /** At most `maxInstances`; `instanceCount` has the real number. */
  instances: ZapInstance[];
  instanceCount: number;
}

export interface ZapReport {
  version: string | undefined;
  sites: string[];
  alerts: ZapAlert[];
  /** Alerts left out by the `maxAlerts` cap, by risk (the lowest risks go first). */
  omitted: Record<ZapRisk, number>;
  malformedEntries: number;
}

export interface ParseZapOptions {
  /** @defaultValue 1000 */
  maxAlerts?: number | undefined;
  /** Instances kept per alert. @defaultValue 20 */
  maxInstances?: number | undefined;
}

function riskOf(riskcode: string | undefined, riskdesc: string | undefined): ZapRisk | undefined {
  const code = riskcode === undefined ? Number.NaN : Number.parseInt(riskcode, 10);
  if (code >= 0 && code <= 3) return ZAP_RISKS[code];
  // Some layouts only carry "Medium (High)".
  const word = riskdesc?.split(/[\s(]/)[0]?.toLowerCase();
  if (word === 'informational' || word === 'info') return 'informational';
  if (word === 'low' || word === 'medium' || word === 'high') return word;
  return undefined;
}

/**
 * Parses ZAP's traditional JSON report text. Throws `SHIPGATE_E_REPORT_INVALID` when the text
 * is not such a report (truncated JSON, a JSON value of another shape), so a broken scan never
 * reads as a clean one. Alerts with an unreadable risk are counted as high: fail closed.
 */
export function parseZapReport(text: string, options: ParseZapOptions = {}): ZapReport {
  const maxAlerts = options.maxAlerts ?? 1000;
  const maxInstances = options.maxInstances ?? 20;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw ReportInvalid('ZAP', `not valid JSON (${(err as Error).message.slice(0, 120)}); truncated?`);
  }
  const top = zapReportSchema.safeParse(json);
  if (!top.success) throw ReportInvalid('ZAP', 'not a ZAP JSON report (no @version, @programName or site)');
  const rawSites =
    top.data.site === undefined ? [] : Array.isArray(top.data.site) ? top.data.site : [top.data.site];
  let malformed = 0;
  const sites: string[] = [];
  const alerts: ZapAlert[] = [];
  for (const rawSite of rawSites) {
    const site = zapSiteSchema.safeParse(rawSite);
    if (!site.success) {
      malformed += 1;
      continue;
    }
    const siteName = site.data['@name'] ?? site.data['@host'] ?? '';
    sites.push(siteName);
    for (const rawAlert of site.data.alerts ?? []) {
      const a = zapAlertSchema.safeParse(rawAlert);
      if (!a.success || (a.data.pluginid === undefined && a.data.alertRef === undefined)) {
        malformed += 1;
        continue;
      }
      const pluginId = a.data.pluginid ?? a.data.alertRef!.split('-')[0]!;
      const instances: ZapInstance[] = [];
      for (const rawInstance of (a.data.instances ?? []).slice(0, maxInstances)) {
        const i = zapInstanceSchema.safeParse(rawInstance);
        if (i.success) {
          instances.push({
            uri: i.data.uri,
            method: i.data.method,
            param: i.data.param,
            evidence: i.data.evidence,
          });
        }
      }
      const declared = a.data.count === undefined ? Number.NaN : Number.parseInt(a.data.count, 10);
      const confidence =
        a.data.confidence === undefined ? Number.NaN : Number.parseInt(a.data.confidence, 10);
      alerts.push({
        pluginId,
        alertRef: a.data.alertRef ?? pluginId,
        name: a.data.alert ?? a.data.name ?? `Rule ${pluginId}`,
        risk: riskOf(a.data.riskcode, a.data.riskdesc) ?? 'high',
        confidence: Number.isNaN(confidence) ? undefined : confidence,
        site: siteName,
        solution: a.data.solution,
        cweId: a.data.cweid,
        instances,
        instanceCount: Math.max(a.data.instances?.length ?? 0, Number.isNaN(declared) ? 0 : declared),
      });
    }
  }
  alerts.sort((x, y) => ZAP_RISKS.indexOf(y.risk) - ZAP_RISKS.indexOf(x.risk));
  const omitted: Record<ZapRisk, number> = { informational: 0, low: 0, medium: 0, high: 0 };
  for (const alert of alerts.slice(maxAlerts)) omitted[alert.risk] += 1;
  alerts.length = Math.min(alerts.length, maxAlerts);
  return { version: top.data['@version'], sites, alerts, omitted, malformedEntries: malformed };
}
