/** The scenario's routes (support.ts) as a Fastify app. */
import Fastify, { type FastifyRequest } from 'fastify';
import { evidentFastify, type FastifyAuditOptions } from '../../src/integrations/fastify/index.ts';

export interface AppOptions {
  trustProxy?: boolean;
  sideEffects?: { count: number };
}

type WithUser = FastifyRequest & { user?: { id: string; role: string } };

export async function buildFastifyApp(audit: FastifyAuditOptions, o: AppOptions = {}) {
  const app = Fastify({ trustProxy: o.trustProxy ?? false });
  await app.register(evidentFastify, audit);
  // Test authentication: `x-user` names the user; `admin` is the only administrator.
  app.addHook('onRequest', async (request) => {
    const user = request.headers['x-user'];
    if (typeof user === 'string')
      (request as WithUser).user = { id: user, role: user === 'admin' ? 'admin' : 'staff' };
  });
  app.get('/health', async () => 'ok');
  app.get<{ Params: { id: string } }>('/patients/:id', async (request) => ({ id: request.params.id }));
  app.get<{ Params: { id: string } }>('/old/:id', async (request, reply) =>
    reply.redirect(`/patients/${request.params.id}`),
  );
  await app.register(
    async (admin) => {
      admin.addHook('onRequest', async (request, reply) => {
        const user = (request as WithUser).user;
        if (!user) return reply.code(401).send({ code: 'UNAUTHENTICATED' });
        if (user.role !== 'admin') return reply.code(403).send({ code: 'FORBIDDEN' });
      });
      admin.get<{ Params: { rid: string } }>('/reports/:rid', async (request) => ({
        report: request.params.rid,
      }));
    },
    { prefix: '/admin' },
  );
  app.get('/boom', async () => {
    throw new Error('boom');
  });
  app.post<{ Body: { name?: string } }>('/patients', async (request, reply) => {
    const name = request.body.name;
    if (!name) return reply.code(400).send({ code: 'VALIDATION_FAILED' });
    request.audit.set({ new_values: { name } });
    return reply.code(201).send({ id: 'p-new' });
  });
  await app.register(
    async (orgs) => {
      await orgs.register(
        async (patients) => {
          patients.get<{ Params: { pid: string } }>('/:pid', async (request) => ({
            pid: request.params.pid,
          }));
        },
        { prefix: '/patients' },
      );
    },
    { prefix: '/orgs/:orgId' },
  );
  app.get<{ Params: { rid: string } }>(
    '/records/:rid',
    {
      config: {
        audit: {
          action: 'record.read',
          resource: (request) => ({ type: 'medical_record', id: (request.params as { rid: string }).rid }),
          reason: 'treatment',
        },
      },
    },
    async (request) => ({ rid: request.params.rid }),
  );
  app.put<{ Params: { id: string }; Body: { name: string } }>('/patients/:id', async (request) => {
    request.audit.set({
      changed_fields: ['name'],
      old_values: { name: 'Ada' },
      new_values: { name: request.body.name },
      reason: 'corrected spelling',
      metadata: { ticket: 'T-17' },
    });
    return { id: request.params.id, name: request.body.name };
  });
  app.get<{ Params: { id: string } }>(
    '/phi/:id',
    { config: { audit: { failClosed: true, action: 'phi.read' } } },
    async (request, reply) => {
      if (o.sideEffects) o.sideEffects.count++;
      reply.header('x-audit-id', request.audit.eventId);
      return { id: request.params.id, diagnosis: 'confidential' };
    },
  );
  app.get<{ Params: { id: string } }>(
    '/phi-invalid/:id',
    { config: { audit: { failClosed: true } } },
    async (request) => {
      if (o.sideEffects) o.sideEffects.count++;
      // 70 kB of metadata: over the event's JSON limit, so the event cannot be recorded.
      request.audit.set({ metadata: { blob: 'x'.repeat(70_000) } });
      return { id: request.params.id, diagnosis: 'confidential' };
    },
  );
  app.get('/quiet', { config: { audit: { skip: true } } }, async () => 'not audited');
  await app.ready();
  return app;
}
