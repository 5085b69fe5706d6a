/**
 * Whether tracing is on, decided from the standard OpenTelemetry variables only: Shipgate adds
 * no variable of its own. Tracing is on when an OTLP endpoint is named (the general or the
 * traces one) or an exporter is chosen with `OTEL_TRACES_EXPORTER`, and `OTEL_SDK_DISABLED` is
 * not `true`. Everything else (`OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER`, headers, resource
 * attributes) is read by the SDK itself.
 */
export function isTracingConfigured(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  if (exporter === 'none') return false;
  if (exporter !== undefined && exporter !== '') return true;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

/** The `OTEL_*` variables documented in docs/observability.md (all read by the SDK). */
export const OTEL_VARIABLES = [
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_TRACES_EXPORTER',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_PROPAGATORS',
  'OTEL_SDK_DISABLED',
] as const;
