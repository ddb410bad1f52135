/**
 * A small clinic API audited end to end. Run it next to a new log:
 * evident init && node --import tsx examples/express/app.ts
 */

import { audit, evidentExpress, ledgerSink } from 'evident/express';
import { openLedger } from 'evident/ledger';
import express, { type NextFunction, type Request, type Response } from 'express';

const ledger = await openLedger({
  db: process.env['EVIDENT_DB'] ?? 'evident.db',
  key: process.env['EVIDENT_KEY'] ?? 'evident.key',
});
const patients = new Map([['p1', { id: 'p1', name: 'Ada Lovelace', diagnosis: 'J45.20' }]]);

const app = express();
app.set('trust proxy', 'loopback'); // only the local reverse proxy may set X-Forwarded-For
app.use(evidentExpress({ sink: ledgerSink(ledger), skipPaths: ['/health'] }));
app.use(express.json());
// Stand-in authentication: a real app verifies a session or a token here.
app.use((req: Request & { user?: { id: string } }, _res: Response, next: NextFunction) => {
  const user = req.get('x-user');
  if (user) req.user = { id: user };
  next();
});

app.get('/health', (_req, res) => {
  res.json({ ok: true });
});
app.post('/login', audit({ action: 'login', resource: { type: 'session', id: 'new' } }), (req, res) => {
  const ok = (req.body as { password?: string }).password === 'demo';
  res.status(ok ? 204 : 401).end();
});
// PHI: refused with 503 unless the audit log can take the event, and held until it has.
app.get('/patients/:id', audit({ action: 'patient.read', failClosed: true }), (req, res) => {
  const patient = patients.get(String(req.params['id']));
  if (!patient) res.status(404).json({ code: 'NOT_FOUND' });
  else res.json(patient);
});
app.patch('/patients/:id', audit({ action: 'patient.update' }), (req, res) => {
  const patient = patients.get(String(req.params['id']));
  if (!patient) return void res.status(404).json({ code: 'NOT_FOUND' });
  const name = String((req.body as { name?: unknown }).name);
  req.audit.set({ changed_fields: ['name'], old_values: { name: patient.name }, new_values: { name } });
  patient.name = name;
  res.json(patient);
});

const server = app.listen(Number(process.env['PORT'] ?? 3000));
process.once('SIGTERM', () => server.close(() => void ledger.close()));
