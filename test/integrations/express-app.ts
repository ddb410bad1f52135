/**
 * The scenario's routes (support.ts) as an Express app, written once for Express 4 and 5:
 * every handler is synchronous or catches its own errors, as Express 4 requires.
 */
import { createRequire } from 'node:module';
import type express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { audit, type ExpressAudit } from '../../src/integrations/express/index.ts';

export type ExpressModule = typeof express;

export const express5 = (await import('express')).default as ExpressModule;
/** Express 4.22, installed under the npm alias `express4`; @types/express describes 5, close enough for these calls. */
export const express4 = createRequire(import.meta.url)('express4') as ExpressModule;

export interface AppOptions {
  trustProxy?: boolean;
  /** Incremented by the fail-closed route's handler: its side effect. */
  sideEffects?: { count: number };
}

type WithUser = Request & { user?: { id: string; role: string } };

export function buildExpressApp(e: ExpressModule, middleware: ExpressAudit, o: AppOptions = {}) {
  const app = e();
  if (o.trustProxy) app.set('trust proxy', true);
  app.use(middleware);
  app.use(e.json());
  // Test authentication: `x-user` names the user; `admin` is the only administrator.
  app.use((req: Request, _res: Response, next: NextFunction) => {
    const user = req.get('x-user');
    if (user) (req as WithUser).user = { id: user, role: user === 'admin' ? 'admin' : 'staff' };
    next();
  });
  app.get('/health', (_req, res) => {
    res.send('ok');
  });
  app.get('/patients/:id', (req, res) => {
    res.json({ id: req.params['id'] });
  });
  app.get('/old/:id', (req, res) => {
    res.redirect(`/patients/${req.params['id']}`);
  });
  const admin = e.Router();
  admin.use((req: Request, res: Response, next: NextFunction) => {
    const user = (req as WithUser).user;
    if (!user) res.status(401).json({ code: 'UNAUTHENTICATED' });
    else if (user.role !== 'admin') res.status(403).json({ code: 'FORBIDDEN' });
    else next();
  });
  admin.get('/reports/:rid', (req, res) => {
    res.json({ report: req.params['rid'] });
  });
  app.use('/admin', admin);
  app.get('/boom', () => {
    throw new Error('boom');
  });
  app.post('/patients', (req, res) => {
    const name = (req.body as { name?: string }).name;
    if (!name) {
      res.status(400).json({ code: 'VALIDATION_FAILED' });
      return;
    }
    req.audit.set({ new_values: { name } });
    res.status(201).json({ id: 'p-new' });
  });
  const orgs = e.Router();
  const orgPatients = e.Router({ mergeParams: true });
  orgPatients.get('/:pid', (req, res) => {
    res.json({ pid: req.params['pid'] });
  });
  orgs.use('/:orgId/patients', orgPatients);
  app.use('/orgs', orgs);
  app.get(
    '/records/:rid',
    audit({
      action: 'record.read',
      resource: (req) => ({ type: 'medical_record', id: String(req.params['rid']) }),
      reason: 'treatment',
    }),
    (req, res) => {
      res.json({ rid: req.params['rid'] });
    },
  );
  app.put('/patients/:id', (req, res) => {
    const name = (req.body as { name: string }).name;
    req.audit.set({
      changed_fields: ['name'],
      old_values: { name: 'Ada' },
      new_values: { name },
      reason: 'corrected spelling',
      metadata: { ticket: 'T-17' },
    });
    res.json({ id: req.params['id'], name });
  });
  app.get('/phi/:id', audit({ failClosed: true, action: 'phi.read' }), (req, res) => {
    if (o.sideEffects) o.sideEffects.count++;
    res.setHeader('x-audit-id', req.audit.eventId);
    res.json({ id: req.params['id'], diagnosis: 'confidential' });
  });
  app.get('/phi-stream/:id', audit({ failClosed: true }), (req, res) => {
    res.setHeader('x-audit-id', req.audit.eventId);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('part-1;');
    setTimeout(() => {
      res.write('part-2;');
      res.end('end');
    }, 20);
  });
  app.get('/phi-invalid/:id', audit({ failClosed: true }), (req, res) => {
    if (o.sideEffects) o.sideEffects.count++;
    // 70 kB of metadata: over the event's JSON limit, so the event cannot be recorded.
    req.audit.set({ metadata: { blob: 'x'.repeat(70_000) } });
    res.json({ id: req.params['id'], diagnosis: 'confidential' });
  });
  // Express 4 and 5 both answer a thrown error with 500 through their final handler;
  // this keeps its HTML (and stack trace) out of the test output.
  app.use((_err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ code: 'INTERNAL' });
  });
  return app;
}
