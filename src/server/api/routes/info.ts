import type { FastifyInstance } from 'fastify';
import { WSGATE_VERSION } from '../../cluster/cluster-state.js';
import { ClusterView } from '../../cluster/cluster-view.js';
import type { GatewayContext } from '../context.js';

/**
 * The node at a glance (identity, uptime, engine, load, message rates over the last minute), the cluster's totals
 * beside it, and every live node with its stats.
 */
export function registerInfoRoutes(api: FastifyInstance, context: GatewayContext): void {
  const cluster = new ClusterView(context);
  api.get('/info', async () => {
    const [messagesIn, messagesOut] = context.metrics.rates.rates();
    const nodes = await cluster.nodes();
    return {
      node: context.nodeId,
      version: WSGATE_VERSION,
      startedAt: new Date(context.startedAt).toISOString(),
      uptime: Math.floor((Date.now() - context.startedAt) / 1000),
      engine: context.engine.kind,
      draining: context.isDraining(),
      sessions: context.hub.sessions.size,
      channels: context.hub.channelCount,
      users: context.hub.userCount,
      rates: { messagesIn, messagesOut, windowSeconds: 60 },
      cluster: ClusterView.totals(nodes),
      nodes,
    };
  });

  api.get('/nodes', async () => ({ nodes: await cluster.nodes() }));
}
