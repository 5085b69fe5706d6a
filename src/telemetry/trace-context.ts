import {
  context as otelContext,
  isSpanContextValid,
  propagation,
  trace,
  type Context,
  type SpanContext,
} from '@opentelemetry/api';

/** W3C `traceparent`: version-traceid-spanid-flags. Anything else in job data is ignored. */
export const TRACEPARENT_PATTERN = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const TRACEPARENT = TRACEPARENT_PATTERN;

/** The active span's trace id, or undefined when there is no valid (or no recording) span. */
export function activeTraceId(): string | undefined {
  const span = trace.getSpan(otelContext.active());
  if (span === undefined) return undefined;
  const ctx = span.spanContext();
  return isSpanContextValid(ctx) ? ctx.traceId : undefined;
}

/** The active span's ids for a log line: `{ traceId, spanId }`, or `{}` outside any span. */
export function activeLogIds(): { traceId?: string; spanId?: string } {
  const span = trace.getSpan(otelContext.active());
  if (span === undefined) return {};
  const ctx = span.spanContext();
  return isSpanContextValid(ctx) ? { traceId: ctx.traceId, spanId: ctx.spanId } : {};
}

/**
 * The active context as a W3C `traceparent` for job data: 55 characters, no baggage and no
 * `tracestate` (free text a caller could fill), so job data stays bounded and secret-free.
 * Undefined when tracing is off or there is no active span.
 */
export function currentTraceparent(ctx: Context = otelContext.active()): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  const value = carrier.traceparent;
  return value !== undefined && TRACEPARENT.test(value) ? value : undefined;
}

/** The context a job continues: its `traceparent` when well formed, else the root context. */
export function contextFromTraceparent(traceparent: unknown): Context {
  if (typeof traceparent !== 'string' || !TRACEPARENT.test(traceparent)) return otelContext.active();
  return propagation.extract(otelContext.active(), { traceparent });
}

export function spanContextOf(traceparent: string): SpanContext | undefined {
  const span = trace.getSpan(contextFromTraceparent(traceparent));
  const ctx = span?.spanContext();
  return ctx !== undefined && isSpanContextValid(ctx) ? ctx : undefined;
}

export function traceIdOf(traceparent: string | undefined): string | undefined {
  return traceparent === undefined ? undefined : spanContextOf(traceparent)?.traceId;
}

/** Zod-free check for schemas: a bounded, well-formed `traceparent`. */
export function isTraceparent(value: string): boolean {
  return TRACEPARENT.test(value);
}
