export declare const TEMPLATE_PATH: string;
export declare const DEFAULTS: Readonly<{ bind: string; statsBind: string; adminSocket: string; checkInterval: string; maxconn: number; connRateLimit: number }>;
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
}
export declare function renderHaproxyConfig(options: RenderOptions): string;
