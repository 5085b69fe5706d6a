/**
 * `npx tsx bench/tracing-overhead.ts`: what the ingest path's tracing additions cost per webhook,
 * side by side in one process: the bare enqueue stand-in, the same inside `withSpan` +
 * `currentTraceparent()` with tracing off (no SDK: the API's no-op), and with the SDK on
 * (in-memory exporter, batch of spans dropped). Also a pino line with and without the mixin.
 * Prints ns/op and the ratios.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createLogger, REDACT_PATHS } from '../src/logger.js';
import { currentTraceparent } from '../src/telemetry/trace-context.js';
import { withSpan } from '../src/telemetry/with-span.js';

const N = Number(process.env.BENCH_N ?? 200_000);
const job = { v: 1, deliveryId: 'x'.repeat(36), event: 'push' };
// Stands in for `queue.add`: an await and an object spread, no I/O.
const enqueue = async (data: object) => ({ ...data });

async function time(label: string, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < N / 10; i++) await fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await fn();
  const ns = Number(process.hrtime.bigint() - start) / N;
  console.log(`${label.padEnd(44)} ${ns.toFixed(0).padStart(7)} ns/op`);
  return ns;
}

const bare = () => enqueue(job);
const traced = () =>
  withSpan('webhook.enqueue', { attributes: { 'github.event': 'push' } }, () => {
    const traceparent = currentTraceparent();
    return enqueue(traceparent === undefined ? job : { ...job, traceparent });
  });
const sink = new Writable({ write: (_c, _e, done) => done() });
// The same options as createLogger, without the mixin.
const plainLogger = pino(
  {
    level: 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'shipgate' },
    timestamp: pino.stdTimeFunctions.isoTime,
  },
  sink,
);
const mixinLogger = createLogger('info', sink);

const b0 = await time('enqueue (no tracing code)', bare);
const off = await time('enqueue in withSpan, tracing off', traced);
const l0 = await time('log line, no mixin', async () => plainLogger.info({ a: 1 }, 'request'));
const l1 = await time('log line, trace-id mixin, tracing off', async () =>
  mixinLogger.info({ a: 1 }, 'request'),
);

const { NodeTracerProvider, InMemorySpanExporter, BatchSpanProcessor } =
  await import('@opentelemetry/sdk-trace-node');
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({
  spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 1_000_000 })],
});
provider.register();
const on = await time('enqueue in withSpan, tracing on', traced);
const l2 = await time('log line, trace-id mixin, in a span', () =>
  withSpan('x', {}, async () => mixinLogger.info({ a: 1 }, 'request')),
);
await provider.shutdown();

console.log(
  `\nratios: tracing off / bare = ${(off / b0).toFixed(2)}, tracing on / bare = ${(on / b0).toFixed(2)}`,
);
console.log(`added per webhook: off ${(off - b0).toFixed(0)} ns, on ${(on - b0).toFixed(0)} ns`);
console.log(
  `log line: mixin off / none = ${(l1 / l0).toFixed(2)}, in a span / none = ${(l2 / l0).toFixed(2)}`,
);
