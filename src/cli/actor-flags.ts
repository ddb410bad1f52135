/**
 * --by, --by-type and --by-ip: who does an administrative act (creates or revokes a key), and
 * from where, recorded as the actor of the audit event the ledger writes for it.
 */
import type { KeyEventActor } from '../ledger/key-events.ts';
import type { Context } from './command.ts';
import { usageError } from './errors.ts';
import { str } from './globals.ts';

const ACTOR_TYPES = ['admin', 'user', 'service', 'system'] as const;

export const ACTOR_OPTIONS = {
  by: {
    type: 'string',
    value: 'WHO',
    description: 'who does this, recorded in the audit event (default: the system)',
  },
  'by-type': {
    type: 'string',
    value: 'TYPE',
    description: 'the kind of actor --by is: admin (default), user, service or system',
  },
  'by-ip': {
    type: 'string',
    value: 'ADDR',
    description: 'with --by: where it was requested from (default 127.0.0.1, this machine)',
  },
} as const;

export function actorFromFlags(ctx: Context): KeyEventActor | undefined {
  const id = str(ctx, 'by');
  const type = str(ctx, 'by-type');
  const ip = str(ctx, 'by-ip');
  if (id === undefined) {
    if (type !== undefined) throw usageError('--by-type goes with --by', '--by-type');
    if (ip !== undefined) throw usageError('--by-ip goes with --by', '--by-ip');
    return undefined;
  }
  if (id === '') throw usageError('--by must name who does this', '--by');
  const kind = type ?? 'admin';
  if (!(ACTOR_TYPES as readonly string[]).includes(kind)) {
    throw usageError(`--by-type must be one of ${ACTOR_TYPES.join(', ')}`, '--by-type');
  }
  // The command runs here: a person at this machine's console is at its loopback address.
  return { id, type: kind as KeyEventActor['type'], ip_address: ip ?? '127.0.0.1' };
}
