import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';

const RULES = fileURLToPath(new URL('../../deploy/prometheus/wsgate-alerts.yaml', import.meta.url));
const RULE_TESTS = fileURLToPath(new URL('../../deploy/prometheus/wsgate-alerts.test.yaml', import.meta.url));
const DASHBOARD = fileURLToPath(new URL('../../deploy/grafana/wsgate-dashboard.json', import.meta.url));

interface Dashboard {
  uid: string;
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
}
interface RuleFile {
  groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
}

/** `which`, without a shell. */
function installed(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

/** The wsgate series an expression reads (histogram series by their base name). */
function seriesOf(expr: string): string[] {
  return [...expr.matchAll(/\bwsgate_[a-z0-9_]+/g)].map(([name]) => name.replace(/_(bucket|sum|count)$/, ''));
}

describe('monitoring files in deploy/', () => {
  let running: RunningGateway;
  let exported: Set<string>;

  before(async () => {
    // An endpoint configured (never called) so the webhook metrics are registered too.
    running = await startGateway({ webhooks: { endpoints: [{ url: 'http://127.0.0.1:9/events' }], secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'] } });
    const text = await (await fetch(`${running.httpUrl}/metrics`)).text();
    exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map(([, name]) => name!));
  });
  after(() => running.stop());

  test('every series the Grafana dashboard and the alert rules read is one a node exports', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
    const rules = parse(readFileSync(RULES, 'utf8')) as RuleFile;
    const expressions = [
      ...dashboard.panels.flatMap((panel) => panel.targets.map((target) => [panel.title, target.expr] as const)),
      ...rules.groups.flatMap((group) => group.rules.map((rule) => [rule.alert, rule.expr] as const)),
    ];
    assert.ok(dashboard.panels.length >= 12);
    for (const [where, expr] of expressions) for (const series of seriesOf(expr)) assert.ok(exported.has(series), `${where}: ${series} is not exported`);
    const alerts = rules.groups.flatMap((group) => group.rules.map((rule) => rule.alert));
    for (const alert of ['WsgateNodeDown', 'WsgateEventLoopLag', 'WsgateSlowConsumerEvictions', 'WsgateEngineUnavailable', 'WsgateWebhookBacklog']) {
      assert.ok(alerts.includes(alert), `alert ${alert}`);
    }
  });

  test('promtool checks the alert rules and their unit tests pass', { skip: installed('promtool') ? false : 'promtool is not installed (Debian package prometheus)' }, () => {
    const checked = execFileSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    assert.match(checked, /SUCCESS: 6 rules found/);
    const tested = spawnSync('promtool', ['test', 'rules', RULE_TESTS], { encoding: 'utf8' });
    assert.equal(tested.status, 0, tested.stdout + tested.stderr);
  });
});
