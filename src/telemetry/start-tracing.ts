import { createRequire } from 'node:module';
import type { IncomingMessage } from 'node:http';
import { isTracingConfigured } from './tracing-config.js';

export interface TracingHandle {
  enabled: boolean;
  /** Flushes queued spans and stops the SDK; a no-op when tracing is off. */
  shutdown: () => Promise<void>;
}

/** Paths scraped or probed every few seconds: spans for them would drown the traces that matter. */
const UNTRACED_PATHS = new Set(['/livez', '/readyz', '/metrics']);

/**
 * Starts the OpenTelemetry Node SDK when the `OTEL_*` variables ask for it; otherwise does
 * nothing and loads nothing, so a Shipgate without tracing pays only for the API's no-op calls.
 *
 * The HTTP layer is instrumented rather than each client: Octokit calls the global `fetch`
 * (undici, seen through its diagnostics channels), while the Slack client (axios), the
 * Kubernetes client (node-fetch) and the Argo CD transport call `node:http`/`node:https`.
 * Redis commands are not traced: a release makes thousands, and the job spans already say
 * where the time went.
 */
export async function startTracing(env: NodeJS.ProcessEnv = process.env): Promise<TracingHandle> {
  if (!isTracingConfigured(env)) return { enabled: false, shutdown: async () => {} };
  const [{ NodeSDK }, { HttpInstrumentation }, { UndiciInstrumentation }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-undici'),
  ]);
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME?.trim() || 'shipgate',
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req: IncomingMessage) =>
          UNTRACED_PATHS.has((req.url ?? '').split('?')[0] ?? ''),
        // Header values can carry tokens; only the standard attributes are kept.
        headersToSpanAttributes: { client: { requestHeaders: [] }, server: { requestHeaders: [] } },
      }),
      new UndiciInstrumentation(),
    ],
  });
  sdk.start();
  // The clients above were loaded before the SDK started. `node:http` is one shared object, so
  // requiring it once more lets the instrumentation patch it in place for every later call.
  const require = createRequire(import.meta.url);
  require('node:http');
  require('node:https');
  return { enabled: true, shutdown: () => sdk.shutdown() };
}
