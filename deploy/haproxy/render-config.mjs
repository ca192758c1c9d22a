#!/usr/bin/env node
// Renders haproxy.cfg.template for a list of wsgate nodes. Plain Node, no dependencies, so it runs on the LB host.
//   node render-config.mjs [--bind :80] [--stats-bind 127.0.0.1:8404] [--admin-socket /run/haproxy/admin.sock] [--check-interval 2s] [--maxconn 100000]
//                          [--conn-rate-limit 200] [--api-maxconn 64] [--tls-cert /etc/haproxy/certs/wsgate.pem] [--send-proxy] [--deny-websocket-paths <file>]
//                          [--source 10.0.0.5]
//                          host:port [host:port ...] > haproxy.cfg
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEMPLATE_PATH = join(dirname(fileURLToPath(import.meta.url)), 'haproxy.cfg.template');

/** The defaults the committed haproxy.cfg is rendered with. */
export const DEFAULTS = Object.freeze({
  bind: ':80',
  statsBind: '127.0.0.1:8404',
  adminSocket: '/run/haproxy/admin.sock',
  checkInterval: '2s',
  maxconn: 100000,
  connRateLimit: 200,
  /** PEM (certificate and key) for TLS on the public bind; empty: plain HTTP. */
  tlsCert: '',
  /** Send a PROXY v2 header to the nodes. */
  sendProxy: false,
  /**
   * A file of paths (one a line) to which WebSocket upgrades are refused with 403, as by a proxy that blocks them; the
   * runtime API's `add acl` / `del acl` on the file changes it live. Empty: none refused.
   */
  denyWebSocketPaths: '',
  /** Server API calls (tickets, ...) each node serves at once through this HAProxy; more wait in its queue. */
  apiMaxconn: 64,
  /**
   * The address HAProxy connects to the nodes from (`source` on every server); empty: the one the kernel picks. An
   * HAProxy on a host with several addresses spreads its connections to the nodes over them by running one
   * instance (or one `frontend`/`backend` pair) per address: see "Ports between HAProxy and the nodes" in
   * docs/deployment.md.
   */
  source: '',
  /** `nbthread` (0: HAProxy's default, one thread per CPU it may use). */
  nbthread: 0,
  /** One log line per connection; false: only errors, timeouts and refusals are logged (`option dontlog-normal`). */
  logNormal: true,
});

/**
 * @param {{ nodes: string[], source?: string, bind?: string, statsBind?: string, adminSocket?: string, checkInterval?: string, maxconn?: number, connRateLimit?: number, tlsCert?: string, sendProxy?: boolean, apiMaxconn?: number, nbthread?: number, logNormal?: boolean }} options
 *   `nodes` are `host:port` addresses of wsgate nodes, named node1, node2, ... in order.
 * @returns {string} the HAProxy configuration
 */
export function renderHaproxyConfig(options) {
  // An option given as undefined keeps its default.
  const settings = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) };
  if (/\s/.test(settings.denyWebSocketPaths)) throw new Error(`the path file must not contain spaces: ${settings.denyWebSocketPaths}`);
  if (settings.source && !/^[0-9A-Fa-f.:[\]]+$/.test(settings.source)) throw new Error(`not an address: ${settings.source}`);
  if (/\s/.test(settings.tlsCert)) throw new Error(`the certificate path must not contain spaces: ${settings.tlsCert}`);
  if (!(Number.isInteger(Number(settings.apiMaxconn)) && Number(settings.apiMaxconn) >= 1)) throw new Error(`api maxconn must be a whole number >= 1: ${settings.apiMaxconn}`);
  if (!(Number.isInteger(Number(settings.nbthread)) && Number(settings.nbthread) >= 0)) throw new Error(`nbthread must be a whole number: ${settings.nbthread}`);
  if (!Array.isArray(settings.nodes) || settings.nodes.length === 0) throw new Error('at least one node address (host:port) is needed');
  for (const node of settings.nodes) {
    if (!/^[A-Za-z0-9_.\-[\]:]+:\d{1,5}$/.test(node)) throw new Error(`not a host:port address: ${node}`);
  }
  const values = {
    bind: settings.bind,
    stats_bind: settings.statsBind,
    admin_socket: settings.adminSocket,
    check_interval: settings.checkInterval,
    maxconn: String(settings.maxconn),
    conn_rate_limit: String(settings.connRateLimit),
    bind_options: settings.tlsCert ? ` ssl crt ${settings.tlsCert} alpn http/1.1` : '',
    server_options: `${settings.sendProxy ? ' send-proxy-v2' : ''}${settings.source ? ` source ${settings.source}` : ''}`,
    websocket_deny: settings.denyWebSocketPaths
      ? `\n    # Refuses WebSocket upgrades to the paths listed in the file, as a proxy that blocks them would.\n    http-request deny deny_status 403 if { hdr(upgrade) -i websocket } { path -f ${settings.denyWebSocketPaths} }`
      : '',
    global_options: settings.nbthread ? `\n    nbthread ${Number(settings.nbthread)}` : '',
    defaults_options: settings.logNormal ? '' : '\n    option dontlog-normal',
    servers: settings.nodes.map((node, index) => `    server node${index + 1} ${node}`).join('\n'),
    api_maxconn: String(settings.apiMaxconn),
    api_servers: settings.nodes.map((node, index) => `    server node${index + 1} ${node}`).join('\n'),
  };
  return readFileSync(TEMPLATE_PATH, 'utf8').replace(/\{\{(\w+)\}\}/g, (placeholder, name) => {
    if (!(name in values)) throw new Error(`unknown placeholder ${placeholder} in ${TEMPLATE_PATH}`);
    return values[name];
  });
}

function main(argv) {
  const options = { nodes: [] };
  const flags = { '--bind': 'bind', '--stats-bind': 'statsBind', '--admin-socket': 'adminSocket', '--check-interval': 'checkInterval', '--maxconn': 'maxconn', '--conn-rate-limit': 'connRateLimit', '--api-maxconn': 'apiMaxconn', '--tls-cert': 'tlsCert', '--deny-websocket-paths': 'denyWebSocketPaths', '--source': 'source' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--send-proxy') options.sendProxy = true;
    else if (arg in flags) {
      if (argv[i + 1] === undefined) throw new Error(`${arg} needs a value`);
      options[flags[arg]] = argv[++i];
    } else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}`);
    else options.nodes.push(arg);
  }
  process.stdout.write(renderHaproxyConfig(options));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error(`render-config: ${error.message}`);
    process.exit(2);
  }
}
