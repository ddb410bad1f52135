/** The retention flags shared by `evident init --retention` and `evident retention set`. */
import type { OptionSpecs } from './command.ts';

export const POLICY_OPTIONS: OptionSpecs = {
  online: {
    type: 'string',
    value: 'DURATION',
    description: "how long entries stay in the database (90d, 3m, 1y); default: the preset's",
  },
  archive: {
    type: 'string',
    value: 'DURATION',
    description: 'how long archived segments are kept in all (12m, 6y); required for gdpr and custom',
  },
  purpose: { type: 'string', value: 'TEXT', description: 'why the data is kept (required for gdpr)' },
  segment: {
    type: 'string',
    value: 'month|N',
    description: 'cut the log into segments by calendar month of received_at, or every N entries',
    default: 'month',
  },
};
