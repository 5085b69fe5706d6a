import { SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import type { StepEvent, StepObserver } from '../deploy/step-plan.js';
import { tracer } from './with-span.js';

/**
 * A `deploy.step <name>` span for every deploy step that runs, through the orchestrator's
 * observer hook (`next` still sees every event). A step resumed from the ledger without running
 * makes no span; a step that fails or errors marks its span failed. With tracing off the API's
 * spans are no-ops.
 */
export function stepSpans(attributes: Attributes, next?: StepObserver): StepObserver {
  const open = new Map<string, Span>();
  return (event: StepEvent) => {
    const onEnd = next?.(event);
    if (event.type === 'failed' || event.type === 'error') {
      open.get(event.key)?.setStatus({
        code: SpanStatusCode.ERROR,
        message: event.type === 'failed' ? event.failure.reason : String(event.err),
      });
    }
    if (event.type !== 'start') return onEnd;
    const span = tracer().startSpan(`deploy.step ${event.step}`, {
      attributes: {
        ...attributes,
        'shipgate.step': event.step,
        'shipgate.step.phase': event.phase,
        'shipgate.step.attempt': event.attempt,
      },
    });
    open.set(event.key, span);
    return () => {
      open.delete(event.key);
      span.end();
      onEnd?.();
    };
  };
}
