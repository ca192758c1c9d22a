/**
 * What one wsgate span costs in-process, without the network: the no-op API (tracing off), then the SDK recording
 * into a batch processor that does not export during the loop. Each iteration is what a traced backend call does:
 * start a span with two attributes, inject `traceparent`, set the status attribute, end.
 *
 *   node --import tsx bench/span-cost.ts [--spans 200000]
 */
import { parseArgs } from 'node:util';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BatchSpanProcessor, InMemorySpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import { endSpan, SpanKind, SpanName, startSpan } from '../src/server/observability/tracing.js';

const { values } = parseArgs({ options: { spans: { type: 'string', default: '200000' } } });
const spans = Number(values.spans);

function nsPerSpan(count: number): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const span = startSpan(SpanName.action, SpanKind.CLIENT, { 'wsgate.action.type': 'order.create', 'wsgate.session': 'Noiwue7BuKEA33Pb' });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    propagation.inject(trace.setSpan(context.active(), span), headers);
    span.setAttribute('http.response.status_code', 200);
    endSpan(span);
  }
  return Number(process.hrtime.bigint() - started) / count;
}

nsPerSpan(spans / 10);
const noop = nsPerSpan(spans);
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new TracerProvider({
  spanProcessors: [new BatchSpanProcessor({ exporter, maxQueueSize: spans * 2, maxExportBatchSize: spans * 2, scheduledDelayMillis: 3_600_000 })],
}));
nsPerSpan(spans / 10);
const recorded = nsPerSpan(spans);
console.log(`no-op API (tracing off): ${(noop / 1000).toFixed(2)} µs per span`);
console.log(`SDK recording, export excluded: ${(recorded / 1000).toFixed(2)} µs per span`);
process.exit(0);
