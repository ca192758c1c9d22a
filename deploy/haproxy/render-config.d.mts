export declare const TEMPLATE_PATH: string;
export declare const DEFAULTS: Readonly<{ bind: string; statsBind: string; adminSocket: string; checkInterval: string; maxconn: number; connRateLimit: number; tlsCert: string; sendProxy: boolean; denyWebSocketPaths: string; apiMaxconn: number; nbthread: number; logNormal: boolean; source: string }>;
export interface RenderOptions {
  /** `host:port` of each wsgate node, named node1, node2, ... in order. */
  nodes: string[];
  bind?: string;
  statsBind?: string;
  /** Path of the runtime API (admin) socket. */
  adminSocket?: string;
  checkInterval?: string;
  maxconn?: number;
  connRateLimit?: number;
  /** PEM file (certificate and key): the public bind speaks TLS (`ssl crt ... alpn http/1.1`). */
  tlsCert?: string;
  /** `send-proxy-v2` on every server: the nodes get each client's address in a PROXY v2 header. */
  sendProxy?: boolean;
  /** A file of paths to which WebSocket upgrades are refused with 403 (a proxy that blocks them); changed live with `add acl` / `del acl`. */
  denyWebSocketPaths?: string;
  /** Server API calls (`/api/`, `/auth/`) each node serves at once; more wait in HAProxy's queue (5 s). Default 64. */
  apiMaxconn?: number;
  /** `nbthread`; 0 (default): HAProxy's own, one thread per CPU. */
  nbthread?: number;
  /** false: `option dontlog-normal`, only errors, timeouts and refusals are logged. Default true. */
  logNormal?: boolean;
  /** The address HAProxy connects to the nodes from (`source` on every server); empty (default): the kernel's choice. */
  source?: string;
}
export declare function renderHaproxyConfig(options: RenderOptions): string;
