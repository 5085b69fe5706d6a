import * as tracing from '@opentelemetry/sdk-trace-node';

/**
 * Registers a real SDK tracer provider that keeps finished spans in memory (W3C propagation,
 * AsyncLocalStorage context), for unit tests of spans. Global: one per test file (forks pool).
 */
export function installInMemoryTracing(): {
  exporter: tracing.InMemorySpanExporter;
  spans: () => tracing.ReadableSpan[];
  shutdown: () => Promise<void>;
} {
  const exporter = new tracing.InMemorySpanExporter();
  const provider = new tracing.NodeTracerProvider({
    spanProcessors: [new tracing.SimpleSpanProcessor(exporter)],
  });
  provider.register();
  return { exporter, spans: () => exporter.getFinishedSpans(), shutdown: () => provider.shutdown() };
}
