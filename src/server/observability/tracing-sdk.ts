import { context, diag, DiagLogLevel, propagation, trace, type TextMapPropagator } from '@opentelemetry/api';
import type { Sampler, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { Logger } from './logger.js';

/** A running tracing SDK. */
export interface TracingSdk {
  /** The span exporters in use (`otlp`, `console`). */
  readonly exporters: readonly string[];
  /** Exports what is still buffered, then stops; bounded by `OTEL_BSP_EXPORT_TIMEOUT` per batch. */
  shutdown(): Promise<void>;
}

/** Packages the SDK needs: optional dependencies of wsgate, loaded only when traces are asked for. */
export const TRACING_SDK_PACKAGES = [
  '@opentelemetry/sdk-trace', '@opentelemetry/context-async-hooks', '@opentelemetry/core',
  '@opentelemetry/resources', '@opentelemetry/exporter-trace-otlp-http',
] as const;

type Env = Record<string, string | undefined>;

/**
 * The span exporters the standard variables ask for: `OTEL_TRACES_EXPORTER` (`otlp`, `console`, `none`), or `otlp`
 * when only an OTLP endpoint is set. None (tracing off) when neither is set or `OTEL_SDK_DISABLED=true`.
 */
export function requestedExporters(env: Env): string[] {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return [];
  const named = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
  if (named.includes('none')) return [];
  if (named.length > 0) return [...new Set(named)];
  return env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? ['otlp'] : [];
}

/**
 * Starts the OpenTelemetry trace SDK when the `OTEL_*` variables ask for traces (see requestedExporters), and returns
 * null otherwise — then every span in wsgate stays the API's no-op. Registers, globally: a tracer provider (resource
 * from `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES`, default `service.name=wsgate`; sampler from
 * `OTEL_TRACES_SAMPLER[_ARG]`, default parent-based always-on), a batch span processor (`OTEL_BSP_*`), the
 * AsyncLocalStorage context manager, and the propagators of `OTEL_PROPAGATORS` (default `tracecontext,baggage`).
 * The OTLP exporter speaks OTLP/HTTP with JSON bodies and takes its own `OTEL_EXPORTER_OTLP_*` variables (endpoint,
 * headers, timeout, compression). Installs no instrumentation of other libraries: a span per Redis command or per
 * delivered message is what this must never produce. SDK packages missing: a warning, and tracing stays off.
 */
export async function startTracingFromEnv(env: Env, logger: Logger, version: string): Promise<TracingSdk | null> {
  const wanted = requestedExporters(env);
  if (wanted.length === 0) return null;
  let sdk: Awaited<ReturnType<typeof loadSdk>>;
  try {
    sdk = await loadSdk();
  } catch (error) {
    logger.warn({ err: error, packages: TRACING_SDK_PACKAGES }, 'OTEL_* variables ask for traces, but the OpenTelemetry SDK packages are not installed: tracing is off');
    return null;
  }
  diag.setLogger({
    error: (message, ...args) => logger.warn({ otel: args.map(String) }, `OpenTelemetry: ${message}`),
    warn: (message, ...args) => logger.warn({ otel: args.map(String) }, `OpenTelemetry: ${message}`),
    info: () => {}, debug: () => {}, verbose: () => {},
  }, DiagLogLevel.WARN);

  const exporters: Array<{ name: string; exporter: SpanExporter }> = [];
  for (const name of wanted) {
    if (name === 'otlp') {
      const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL;
      if (protocol !== undefined && protocol !== 'http/json') logger.warn({ protocol }, 'wsgate exports OTLP over HTTP with JSON bodies only: using http/json');
      exporters.push({ name, exporter: new sdk.OTLPTraceExporter() });
    } else if (name === 'console') exporters.push({ name, exporter: new sdk.ConsoleSpanExporter() });
    else logger.warn({ exporter: name }, 'OTEL_TRACES_EXPORTER names an exporter wsgate does not have (it has otlp and console): ignored');
  }
  if (exporters.length === 0) return null;

  const batching = Object.fromEntries(Object.entries({
    maxQueueSize: env.OTEL_BSP_MAX_QUEUE_SIZE,
    maxExportBatchSize: env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
    scheduledDelayMillis: env.OTEL_BSP_SCHEDULE_DELAY,
    exportTimeoutMillis: env.OTEL_BSP_EXPORT_TIMEOUT,
  }).map(([key, value]) => [key, numberFrom(value)]).filter(([, value]) => value !== undefined));
  const processors: SpanProcessor[] = exporters.map(({ exporter }) => new sdk.BatchSpanProcessor({ ...batching, exporter }));
  // Not the process detector: it would record the command line, and flags may carry secrets.
  const detected = sdk.detectResources({ detectors: [sdk.hostDetector, sdk.serviceInstanceIdDetector, sdk.envDetector] });
  const resource = sdk.resourceFromAttributes({ 'service.name': 'wsgate', 'service.version': version, 'process.runtime.version': process.versions.node }).merge(detected);
  const provider = new sdk.TracerProvider({ resource, sampler: samplerFrom(env, sdk, logger), spanProcessors: processors });

  const contextManager = new sdk.AsyncLocalStorageContextManager();
  contextManager.enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(propagatorFrom(env, sdk, logger));
  trace.setGlobalTracerProvider(provider);
  return {
    exporters: exporters.map(({ name }) => name),
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

async function loadSdk() {
  const [traceSdk, hooks, core, resources, otlp] = await Promise.all([
    import('@opentelemetry/sdk-trace'), import('@opentelemetry/context-async-hooks'), import('@opentelemetry/core'),
    import('@opentelemetry/resources'), import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  return { ...traceSdk, ...hooks, ...resources, ...otlp, core };
}
type Sdk = Awaited<ReturnType<typeof loadSdk>>;

function numberFrom(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const number = Number(value);
  return Number.isFinite(number) && number >= 0 ? number : undefined;
}

/** `OTEL_TRACES_SAMPLER` as the specification names them; an unknown name falls back to the default with a warning. */
function samplerFrom(env: Env, sdk: Sdk, logger: Logger): Sampler {
  const name = (env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim().toLowerCase();
  const ratio = Math.min(1, Math.max(0, numberFrom(env.OTEL_TRACES_SAMPLER_ARG) ?? 1));
  const root = (base: string): Sampler | undefined =>
    base === 'always_on' ? new sdk.AlwaysOnSampler() : base === 'always_off' ? new sdk.AlwaysOffSampler() : base === 'traceidratio' ? new sdk.TraceIdRatioBasedSampler(ratio) : undefined;
  const parentBased = name.startsWith('parentbased_') ? root(name.slice('parentbased_'.length)) : undefined;
  if (parentBased) return new sdk.ParentBasedSampler({ root: parentBased });
  const plain = root(name);
  if (plain) return plain;
  logger.warn({ sampler: name }, 'unknown OTEL_TRACES_SAMPLER: using parentbased_always_on');
  return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() });
}

/** `OTEL_PROPAGATORS`: `tracecontext` and `baggage` (W3C); `none` propagates nothing. */
function propagatorFrom(env: Env, sdk: Sdk, logger: Logger): TextMapPropagator {
  const names = (env.OTEL_PROPAGATORS ?? 'tracecontext,baggage').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
  const propagators: TextMapPropagator[] = [];
  for (const name of new Set(names)) {
    if (name === 'tracecontext') propagators.push(new sdk.core.W3CTraceContextPropagator());
    else if (name === 'baggage') propagators.push(new sdk.core.W3CBaggagePropagator());
    else if (name !== 'none') logger.warn({ propagator: name }, 'OTEL_PROPAGATORS names a propagator wsgate does not have (it has tracecontext and baggage): ignored');
  }
  return new sdk.core.CompositePropagator({ propagators });
}
