/** An `alerts` row as both stores read it (docs/alerts.md). */
import type { StoredAlert } from './types.ts';

export interface AlertRow {
  alert_key: string;
  rule: string;
  log: string;
  subject: string;
  body: string;
  created_at: string;
}

export function alertFromRow(r: AlertRow): StoredAlert {
  return {
    key: r.alert_key,
    rule: r.rule,
    log: r.log,
    subject: r.subject,
    body: r.body,
    createdAt: r.created_at,
  };
}
