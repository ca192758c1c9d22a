import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

/** The package root, whether running from src/ (tsx) or dist/. */
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The demo page at `/` and the browser build of the client SDK at `/client.js`. */
export async function registerWebRoutes(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, { root: join(packageRoot, 'web'), prefix: '/', index: ['index.html'] });
  const bundle = join(packageRoot, 'dist', 'web', 'wsgate-client.js');
  app.get('/client.js', async (_request, reply) => {
    if (!existsSync(bundle)) return reply.status(404).send({ code: 'NOT_FOUND', message: 'client bundle not built (npm run build)' });
    return reply.header('cache-control', 'no-cache').sendFile('wsgate-client.js', join(packageRoot, 'dist', 'web'));
  });
}
