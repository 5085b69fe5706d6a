import {
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Link,
  type Span,
  type Context,
  context as otelContext,
} from '@opentelemetry/api';

/** One tracer for all of Shipgate's own spans; instrumentations bring their own. */
export const TRACER_NAME = 'shipgate';

export function tracer() {
  return trace.getTracer(TRACER_NAME);
}

export interface SpanOptions {
  attributes?: Attributes;
  kind?: SpanKind;
  links?: Link[];
  /** Parent other than the active context (a job's extracted `traceparent`). */
  parent?: Context;
}

/**
 * Runs `fn` inside a new span that is active for everything `fn` awaits (git, HTTP calls,
 * logs), ends it, and marks it failed with the error's stable code when `fn` throws. With
 * tracing off the API hands out a no-op span, so this costs a few object allocations.
 */
export async function withSpan<T>(
  name: string,
  options: SpanOptions,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? otelContext.active();
  return tracer().startActiveSpan(
    name,
    { attributes: options.attributes, kind: options.kind ?? SpanKind.INTERNAL, links: options.links },
    parent,
    async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        markFailed(span, err);
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

export function markFailed(span: Span, err: unknown): void {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') span.setAttribute('shipgate.error.code', code);
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: err instanceof Error ? err.message.slice(0, 200) : '',
  });
}

/**
 * A deploy step's span: `deploy.step <name>`. The step orchestrator calls it around each step it
 * runs (an observer hook); a step resumed from the ledger without running makes no span.
 */
export function withStepSpan<T>(
  step: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return withSpan(`deploy.step ${step}`, { attributes: { 'shipgate.step': step, ...attributes } }, fn);
}

/**
 * Records a wait (queue time, the deploy lock, an approval) on the active span as an event with
 * its duration, so the trace shows where the release stood still without a span per poll.
 */
export function recordWait(
  kind: 'queue' | 'lock' | 'approval',
  waitedMs: number,
  attributes: Attributes = {},
): void {
  trace
    .getActiveSpan()
    ?.addEvent(`wait.${kind}`, { 'shipgate.wait.ms': Math.max(0, waitedMs), ...attributes });
}
