/**
 * A small clinic API audited end to end. Run it next to a new log:
 * evident init && node --import tsx examples/fastify/app.ts
 */

import { evidentFastify, ledgerSink } from 'evident/fastify';
import { openLedger } from 'evident/ledger';
import Fastify from 'fastify';

const ledger = await openLedger({
  db: process.env['EVIDENT_DB'] ?? 'evident.db',
  key: process.env['EVIDENT_KEY'] ?? 'evident.key',
});
const patients = new Map([['p1', { id: 'p1', name: 'Ada Lovelace', diagnosis: 'J45.20' }]]);

// Only the local reverse proxy may set X-Forwarded-For.
const app = Fastify({ trustProxy: '127.0.0.1' });
await app.register(evidentFastify, {
  sink: ledgerSink(ledger),
  skipPaths: ['/health'],
  // Stand-in authentication: a real app reads its verified session or token.
  actor: (request) => request.headers['x-user']?.toString(),
});
app.addHook('onClose', () => ledger.close());

app.get('/health', async () => ({ ok: true }));
app.post<{ Body: { password?: string } }>(
  '/login',
  { config: { audit: { action: 'login', resource: { type: 'session', id: 'new' } } } },
  async (request, reply) => reply.code(request.body.password === 'demo' ? 204 : 401).send(),
);
// PHI: refused with 503 unless the audit log can take the event, recorded before it is sent.
app.get<{ Params: { id: string } }>(
  '/patients/:id',
  { config: { audit: { action: 'patient.read', failClosed: true } } },
  async (request, reply) => patients.get(request.params.id) ?? reply.code(404).send({ code: 'NOT_FOUND' }),
);
app.patch<{ Params: { id: string }; Body: { name: string } }>(
  '/patients/:id',
  { config: { audit: { action: 'patient.update' } } },
  async (request, reply) => {
    const patient = patients.get(request.params.id);
    if (!patient) return reply.code(404).send({ code: 'NOT_FOUND' });
    request.audit.set({
      changed_fields: ['name'],
      old_values: { name: patient.name },
      new_values: { name: request.body.name },
    });
    patient.name = request.body.name;
    return patient;
  },
);

await app.listen({ port: Number(process.env['PORT'] ?? 3000) });
process.once('SIGTERM', () => void app.close());
