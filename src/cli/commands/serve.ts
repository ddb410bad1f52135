/** evident serve: the HTTP audit service. The work is in ../actions/serve.ts, loaded when the command runs. */

import { SERVE_SETTINGS } from '../actions/serve-settings.ts';
import { type Command, lazy, type OptionSpec } from '../command.ts';

const options: Record<string, OptionSpec> = {
  config: {
    type: 'string',
    value: 'FILE',
    description:
      'JSON file with any of the settings below, by their camelCase names, and "alerts" ($EVIDENT_CONFIG)',
  },
};
for (const s of SERVE_SETTINGS) {
  options[s.flag] = {
    type: s.kind === 'bool' ? 'boolean' : 'string',
    ...(s.value ? { value: s.value } : {}),
    description: `${s.description} ($${s.env})`,
    default: s.default,
  };
}

export const serve: Command = {
  name: 'serve',
  summary: 'run the HTTP API: ingest, query, proofs, export, with API keys and access audit',
  description:
    'Each setting comes from its flag, else its environment variable, else the --config file, else\n' +
    'its default. Logs one JSON line per request on stdout. SIGTERM or SIGINT stops accepting\n' +
    'requests, finishes those in flight, commits pending events, signs a last checkpoint and exits 0.\n' +
    'Anomaly alerts are set in the config file\'s "alerts" object (docs/alerts.md); SIGHUP reloads it.\n' +
    'Needs the optional packages fastify@5, @fastify/swagger and @fastify/rate-limit.',
  globals: [],
  options,
  examples: [
    'evident serve --db audit.db --key audit.key --port 8080',
    'EVIDENT_DB=postgres://audit@db/audit evident serve --host 0.0.0.0 --trust-proxy 10.0.0.0/8 --public-verify',
  ],
  run: lazy(async () => (await import('../actions/serve.ts')).run),
};
