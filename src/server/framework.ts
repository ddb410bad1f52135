/**
 * Fastify and its two plugins, loaded when a server is built rather than when evident/server is
 * imported: they are optional peers (../core/peers.ts), and a missing one is DEPENDENCY_MISSING
 * naming it, its version range and the install command, not a bare module-not-found.
 */
import { loadPeer } from '../core/peers.ts';

const NEEDS = 'the HTTP server (evident/server, evident serve)';

export async function loadFramework() {
  const fastify = await loadPeer('fastify', NEEDS, () => import('fastify'));
  const swagger = await loadPeer('@fastify/swagger', NEEDS, () => import('@fastify/swagger'));
  const rateLimit = await loadPeer('@fastify/rate-limit', NEEDS, () => import('@fastify/rate-limit'));
  return {
    Fastify: fastify.default,
    LogController: fastify.LogController,
    swagger: swagger.default,
    rateLimit: rateLimit.default,
  };
}
