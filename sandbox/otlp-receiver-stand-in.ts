import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { closeServer, listenOnFreePort } from './listen.js';

/**
 * An OpenTelemetry collector's OTLP/HTTP trace receiver (`POST /v1/traces`), JSON encoding (the
 * default of `@opentelemetry/exporter-trace-otlp-http`), gzip or plain. It keeps the spans it
 * receives, flattened, so tests and the demo can read whole traces.
 */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
  links: { traceId: string; spanId: string }[];
  status: { code?: number; message?: string };
  /** `service.name` of the resource that sent it. */
  service: string | undefined;
  /** `service.instance.id` of the resource that sent it: which process, when several share a name. */
  instance: string | undefined;
}

export interface OtlpReceiverStandIn {
  /** Base URL: set `OTEL_EXPORTER_OTLP_ENDPOINT` to it. */
  url: string;
  spans(): ReceivedSpan[];
  /** Resolves once at least `count` spans arrived. */
  waitForSpans(count: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

interface OtlpAnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpAnyValue[] };
}
type OtlpAttributes = { key: string; value: OtlpAnyValue }[] | undefined;

function valueOf(v: OtlpAnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(valueOf);
  return undefined;
}

function attributesOf(list: OtlpAttributes): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, valueOf(a.value)]));
}

/** OTLP/JSON ids are hex strings (the spec's JSON mapping); older SDKs sent base64. */
function hexId(id: string | undefined): string | undefined {
  if (id === undefined || id === '') return undefined;
  return /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');
}

export async function startOtlpReceiverStandIn(): Promise<OtlpReceiverStandIn> {
  const received: ReceivedSpan[] = [];
  const waiters = new Set<() => void>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/traces') {
      res.writeHead(404).end();
      return;
    }
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    if (!(req.headers['content-type'] ?? '').includes('json')) {
      res.writeHead(415, { 'content-type': 'application/json' }).end('{"message":"JSON only"}');
      return;
    }
    const request = JSON.parse(body.toString('utf8')) as {
      resourceSpans?: {
        resource?: { attributes?: OtlpAttributes };
        scopeSpans?: { spans?: Record<string, unknown>[] }[];
      }[];
    };
    for (const rs of request.resourceSpans ?? []) {
      const resource = attributesOf(rs.resource?.attributes);
      const service = resource['service.name'];
      const instance = resource['service.instance.id'];
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          received.push({
            traceId: hexId(s.traceId as string)!,
            spanId: hexId(s.spanId as string)!,
            parentSpanId: hexId(s.parentSpanId as string | undefined),
            name: s.name as string,
            kind: s.kind as number,
            startTimeUnixNano: String(s.startTimeUnixNano),
            endTimeUnixNano: String(s.endTimeUnixNano),
            attributes: attributesOf(s.attributes as OtlpAttributes),
            events: ((s.events as { name: string; attributes?: OtlpAttributes }[] | undefined) ?? []).map(
              (e) => ({
                name: e.name,
                attributes: attributesOf(e.attributes),
              }),
            ),
            links: ((s.links as { traceId: string; spanId: string }[] | undefined) ?? []).map((l) => ({
              traceId: hexId(l.traceId)!,
              spanId: hexId(l.spanId)!,
            })),
            status: (s.status as { code?: number; message?: string } | undefined) ?? {},
            service: typeof service === 'string' ? service : undefined,
            instance: typeof instance === 'string' ? instance : undefined,
          });
        }
      }
    }
    for (const wake of waiters) wake();
    // An empty ExportTraceServiceResponse: everything accepted.
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(400).end();
    });
  });
  const url = await listenOnFreePort(server);
  return {
    url,
    spans: () => [...received],
    async waitForSpans(count, timeoutMs = 10_000) {
      const deadline = AbortSignal.timeout(timeoutMs);
      while (received.length < count) {
        if (deadline.aborted) throw new Error(`only ${received.length} of ${count} spans arrived`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
          setTimeout(wake, 100);
        });
      }
      return [...received];
    },
    close: () => closeServer(server),
  };
}
