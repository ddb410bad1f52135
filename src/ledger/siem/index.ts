/** The record formats of `evident export --format` and `GET /v1/logs/{log}/export?format=`. */
import { cefFormat } from './cef.ts';
import { csvFormat } from './csv.ts';
import type { RecordFormat } from './fields.ts';
import { ocsfFormat } from './ocsf.ts';
import { syslogFormat } from './syslog.ts';

export { ERASED, type RecordContext, type RecordFormat } from './fields.ts';

export const RECORD_FORMATS: Readonly<Record<string, RecordFormat>> = {
  ocsf: ocsfFormat,
  cef: cefFormat,
  syslog: syslogFormat,
  csv: csvFormat,
};

/** Every value of --format / ?format=: the bundle (the default) and the record formats. */
export const EXPORT_FORMATS = ['bundle', ...Object.keys(RECORD_FORMATS)] as const;
