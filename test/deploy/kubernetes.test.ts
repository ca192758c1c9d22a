/**
 * deploy/kubernetes: every manifest is valid for its kind (the Kubernetes OpenAPI schemas, through kubernetes-models,
 * plus TypeScript's excess-property check against the same models, which catches a misspelt field), and the fields
 * that make a drain, a rollout and autoscaling work hold together with wsgate's own config.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget, type IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { HorizontalPodAutoscaler, type IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { configEnvironment, loadConfig } from '../../src/server/config/load.js';
import { Metrics } from '../../src/server/observability/metrics.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIR = join(ROOT, 'deploy', 'kubernetes');

/** The model of each kind the manifests use: its class validates, its interface types the excess-property check. */
const MODELS: Record<string, { model: { new (data: never): { validate(): void } }; module: string; type: string }> = {
  'v1/ConfigMap': { model: ConfigMap, module: 'kubernetes-models/v1/ConfigMap', type: 'IConfigMap' },
  'v1/Service': { model: Service, module: 'kubernetes-models/v1/Service', type: 'IService' },
  'apps/v1/Deployment': { model: Deployment, module: 'kubernetes-models/apps/v1/Deployment', type: 'IDeployment' },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget, module: 'kubernetes-models/policy/v1/PodDisruptionBudget', type: 'IPodDisruptionBudget' },
  'autoscaling/v2/HorizontalPodAutoscaler': { model: HorizontalPodAutoscaler, module: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler', type: 'IHorizontalPodAutoscaler' },
};

interface Manifest { file: string; kind: string; doc: Record<string, unknown> }

async function manifests(): Promise<Manifest[]> {
  const kustomization = parse(await readFile(join(DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  const files = (await readdir(DIR)).filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml').sort();
  assert.deepEqual([...kustomization.resources].sort(), files, 'kustomization.yaml lists every manifest');
  return Promise.all(files.map(async (file) => {
    const doc = parse(await readFile(join(DIR, file), 'utf8')) as Record<string, unknown>;
    return { file, kind: `${String(doc.apiVersion)}/${String(doc.kind)}`, doc };
  }));
}

function one<T>(all: Manifest[], kind: string): T {
  const found = all.filter((manifest) => manifest.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]!.doc as T;
}

/** The wsgate config in the ConfigMap, as the node loads it (throws naming the key when it is not valid). */
async function wsgateConfig(all: Manifest[]) {
  const configMap = one<IConfigMap>(all, 'v1/ConfigMap');
  const dir = await mkdtemp(join(tmpdir(), 'wsgate-k8s-config-'));
  try {
    const file = join(dir, 'wsgate.yaml');
    await writeFile(file, configMap.data!['wsgate.yaml']!);
    return loadConfig({ file });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('Kubernetes manifests', () => {
  test('every manifest validates against the Kubernetes schema of its kind', async () => {
    for (const { file, kind, doc } of await manifests()) {
      const entry = MODELS[kind];
      assert.ok(entry, `${file}: ${kind} is a kind this test knows`);
      assert.doesNotThrow(() => new entry.model(doc as never).validate(), `${file} is a valid ${kind}`);
    }
  });

  test('no manifest has a field its kind does not define (TypeScript excess-property check)', async () => {
    const all = await manifests();
    // Inside the repository, so the models resolve from its node_modules.
    await mkdir(join(ROOT, '.tmp'), { recursive: true });
    const dir = await mkdtemp(join(ROOT, '.tmp', 'k8s-types-'));
    try {
      const source = all.map(({ kind, doc }, index) => {
        const { module, type } = MODELS[kind]!;
        return `import type { ${type} } from '${module}';\nexport const manifest${index}: ${type} = ${JSON.stringify(doc, null, 2)};`;
      }).join('\n');
      await writeFile(join(dir, 'manifests.ts'), source);
      await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, skipLibCheck: true, module: 'esnext', moduleResolution: 'bundler', target: 'es2022', types: [] },
        files: ['manifests.ts'],
      }));
      const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      const failure = await promisify(execFile)(process.execPath, [tsc, '-p', dir]).then(() => null, (error: { stdout: string }) => error.stdout);
      assert.equal(failure, null, `fields the models do not define:\n${failure}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the drain fits the pod\'s grace period, probes use /readyz and /healthz, the config is valid for wsgate', async () => {
    const all = await manifests();
    const configMap = one<IConfigMap>(all, 'v1/ConfigMap');
    const deployment = one<IDeployment>(all, 'apps/v1/Deployment');
    const pod = deployment.spec!.template.spec!;
    const [container] = pod.containers;

    // The config file the pod mounts, checked by wsgate's own loader.
    const mount = container!.volumeMounts!.find((candidate) => pod.volumes!.find((volume) => volume.name === candidate.name)?.configMap?.name === configMap.metadata!.name)!;
    assert.ok(mount, 'the ConfigMap is mounted');
    const args = container!.args!;
    const configPath = args[args.indexOf('--config') + 1]!;
    assert.equal(configPath, `${mount.mountPath}/wsgate.yaml`, 'serve --config names the mounted file');
    const config = await wsgateConfig(all);

    const preStop = container!.lifecycle!.preStop!.sleep!.seconds;
    assert.ok(preStop > 0 && preStop <= 15, `preStop sleeps ${preStop} s`);
    assert.equal(pod.terminationGracePeriodSeconds, preStop + Math.ceil(config.drain.timeoutMs / 1000) + 5,
      'terminationGracePeriodSeconds = preStop + drain.timeoutMs + 5 s to close the engine and exit');

    const port = container!.ports!.find((candidate) => candidate.containerPort === config.port);
    assert.ok(port, `the container exposes the configured port ${config.port}`);
    const probePort = (probe: { httpGet?: { port: number | string } } | undefined) => probe?.httpGet?.port;
    assert.equal(container!.readinessProbe!.httpGet!.path, '/readyz');
    assert.equal(container!.livenessProbe!.httpGet!.path, '/healthz');
    for (const probe of [container!.readinessProbe, container!.livenessProbe, container!.startupProbe]) {
      assert.ok([port!.name, port!.containerPort].includes(probePort(probe)!), 'probes use the gateway\'s port');
    }
    assert.equal(deployment.spec!.strategy!.rollingUpdate!.maxUnavailable, 0, 'a rollout adds a pod before it drains one');

    const known = configEnvironment();
    for (const variable of container!.env ?? []) {
      if (variable.name.startsWith('WSGATE_')) assert.ok(known.has(variable.name), `${variable.name} is a wsgate setting`);
    }
    assert.equal(pod.securityContext!.runAsNonRoot, true);
    assert.equal(container!.securityContext!.allowPrivilegeEscalation, false);
    assert.equal(container!.securityContext!.readOnlyRootFilesystem, true);
  });

  test('the Service, the PodDisruptionBudget and the autoscaler target the pods; it scales on connections', async () => {
    const all = await manifests();
    const deployment = one<IDeployment>(all, 'apps/v1/Deployment');
    const labels = deployment.spec!.template.metadata!.labels!;
    const selects = (selector: Record<string, string>) => Object.entries(selector).every(([key, value]) => labels[key] === value);
    assert.ok(selects(deployment.spec!.selector.matchLabels!), 'the Deployment selects its own pods');

    const service = one<IService>(all, 'v1/Service');
    assert.ok(selects(service.spec!.selector!), 'the Service selects the pods');
    const portNames = deployment.spec!.template.spec!.containers[0]!.ports!.map((port) => port.name);
    for (const port of service.spec!.ports!) assert.ok(portNames.includes(String(port.targetPort)), `targetPort ${port.targetPort} is a container port`);

    const hpa = one<IHorizontalPodAutoscaler>(all, 'autoscaling/v2/HorizontalPodAutoscaler');
    assert.deepEqual(hpa.spec!.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata!.name });
    const sessions = hpa.spec!.metrics!.find((metric) => metric.type === 'Pods')!.pods!;
    assert.equal(sessions.metric.name, 'wsgate_sessions');
    const exported = (await new Metrics().registry.getMetricsAsJSON()).find((metric) => metric.name === 'wsgate_sessions');
    assert.equal(exported?.type, 'gauge', 'wsgate exports the gauge the autoscaler reads');
    const perPod = Number(sessions.target.averageValue);
    const { limits } = await wsgateConfig(all);
    assert.ok(perPod > 0 && perPod < limits.maxSessions, `scales at ${perPod} sessions a pod, before a pod is full (${limits.maxSessions})`);
    const minReplicas = hpa.spec!.minReplicas!;

    const pdb = one<IPodDisruptionBudget>(all, 'policy/v1/PodDisruptionBudget');
    assert.ok(selects(pdb.spec!.selector!.matchLabels!), 'the budget covers the pods');
    assert.equal(pdb.spec!.maxUnavailable, 1);
    assert.ok(minReplicas >= 2, `at least two pods (${minReplicas}), so one can always be disrupted while another serves`);
  });
});
