import type { FastifyInstance } from 'fastify';
import { WSGATE_VERSION } from '../../cluster/cluster-state.js';
import { ClusterView } from '../../cluster/cluster-view.js';
import type { GatewayContext } from '../context.js';

/**
 * The node at a glance (identity, uptime, engine, load, message rates over the last minute), the cluster's totals
 * beside it, and every live node with its stats.
 */
export function registerInfoRoutes(api: FastifyInstance, context: GatewayContext): void {
  api.get('/info', async () => {
    const [messagesIn, messagesOut] = context.metrics.rates.rates();
    const nodes = await context.commands.clusterNodes();
    const local = context.commands.localCounts();
    return {
      node: context.nodeId,
      version: WSGATE_VERSION,
      startedAt: new Date(context.startedAt).toISOString(),
      uptime: Math.floor((Date.now() - context.startedAt) / 1000),
      engine: context.engine.kind,
      draining: context.isDraining(),
      sessions: local.sessions,
      channels: local.channels,
      users: local.users,
      rates: { messagesIn, messagesOut, windowSeconds: 60 },
      cluster: ClusterView.totals(nodes),
      nodes,
    };
  });

  api.get('/nodes', async () => ({ nodes: await context.commands.clusterNodes() }));
}
