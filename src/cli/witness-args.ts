/**
 * The witness flags of `evident verify` and `verify-bundle`: `--witness VKEY` (repeatable; a
 * cosigner vkey `<name>+<key id>+<base64(0x04 || key)>` or a file holding one),
 * `--witness-quorum K` (default: every --witness), or `--witness-policy FILE` (a C2SP
 * tlog-policy file). With any of them the checkpoint must carry the quorum's cosignatures.
 */
import { existsSync } from 'node:fs';
import { parseCosignerKey } from '../core/cosignature.ts';
import { ErrorCode, EvidentError, isEvidentError } from '../core/errors.ts';
import {
  checkWitnessQuorum,
  parseWitnessPolicy,
  type QuorumResult,
  quorumPolicy,
  type WitnessPolicy,
} from '../core/witness-policy.ts';
import type { Context, OptionSpecs } from './command.ts';
import { usageError } from './errors.ts';
import { readUserFile } from './files.ts';
import { str, strs } from './globals.ts';

export const WITNESS_OPTIONS: OptionSpecs = {
  witness: {
    type: 'string',
    value: 'VKEY',
    multiple: true,
    description:
      'a witness you trust: its cosigner key <name>+<key id>+<base64> (type 0x04), or a file holding it',
  },
  'witness-quorum': {
    type: 'string',
    value: 'K',
    description: 'how many --witness must have cosigned the checkpoint (default: all of them)',
  },
  'witness-policy': {
    type: 'string',
    value: 'FILE',
    description: 'a C2SP tlog-policy file (witness, group and quorum lines) instead of --witness',
  },
};

async function cosignerArg(value: string): Promise<string> {
  try {
    parseCosignerKey(value);
    return value;
  } catch (e) {
    if (!isEvidentError(e) || !existsSync(value)) {
      throw new EvidentError(
        ErrorCode.KEY_INVALID,
        `--witness is neither a cosigner key (<name>+<key id>+<base64>, type 0x04) nor a file holding one: ${(e as Error).message}`,
        { field: '--witness', ...(isEvidentError(e) ? { reason: e.details['reason'] } : {}) },
      );
    }
  }
  const text = (await readUserFile(value, '--witness')).trim();
  try {
    parseCosignerKey(text);
    return text;
  } catch (e) {
    throw new EvidentError(
      ErrorCode.KEY_INVALID,
      `--witness: ${value} does not hold a cosigner key: ${(e as Error).message}`,
      {
        field: '--witness',
        path: value,
      },
    );
  }
}

/** The witness policy the flags give, or undefined when none was given. */
export async function witnessPolicyOf(ctx: Context): Promise<WitnessPolicy | undefined> {
  const file = str(ctx, 'witness-policy');
  const keys = strs(ctx, 'witness');
  const k = str(ctx, 'witness-quorum');
  if (file !== undefined) {
    if (keys.length > 0 || k !== undefined) {
      throw usageError(
        '--witness-policy replaces --witness and --witness-quorum: give one or the other',
        '--witness-policy',
      );
    }
    return parseWitnessPolicy(await readUserFile(file, '--witness-policy'));
  }
  if (keys.length === 0) {
    if (k !== undefined) throw usageError('--witness-quorum needs --witness keys', '--witness-quorum');
    return undefined;
  }
  const vkeys = await Promise.all(keys.map(cosignerArg));
  const quorum = k === undefined ? vkeys.length : /^[0-9]{1,3}$/.test(k) ? Number(k) : Number.NaN;
  if (!(quorum >= 1 && quorum <= vkeys.length)) {
    throw usageError(
      `--witness-quorum must be a whole number from 1 to ${vkeys.length} (the --witness count)`,
      '--witness-quorum',
      {
        rule: 'range',
      },
    );
  }
  return quorumPolicy(vkeys, quorum);
}

/** Checks a checkpoint note (with its cosignature lines) against the policy: throws WITNESS_QUORUM_UNMET. */
export function checkQuorum(note: string, policy: WitnessPolicy): QuorumResult {
  return checkWitnessQuorum(note, policy);
}
