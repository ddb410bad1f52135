/**
 * The optional peer packages (package.json peerDependencies, all optional): a user who only
 * verifies installs none. Each entry point that needs one loads it when first used, and a
 * missing one is DEPENDENCY_MISSING naming the package, its version range and the install
 * command. A test holds this table equal to package.json.
 */
import { ErrorCode, EvidentError } from './errors.ts';

export const PEERS = {
  'better-sqlite3': '^12.0.0',
  pg: '^8.0.0',
  fastify: '^5.12.0',
  '@fastify/swagger': '^9.0.0',
  '@fastify/rate-limit': '^11.0.0',
  express: '^4.21.0 || ^5.0.0',
  '@aws-sdk/client-s3': '^3.729.0',
} as const;

export type Peer = keyof typeof PEERS;

/** The error for a peer that failed to load; `needs` says what wanted it ("the SQLite store"). */
export function missingPeer(name: Peer, needs: string, cause: unknown): EvidentError {
  const range = PEERS[name];
  const install = `npm i ${name}@'${range}'`;
  return new EvidentError(
    ErrorCode.DEPENDENCY_MISSING,
    `${needs} needs the package ${name} (${range}), which is not installed or failed to load: ${install}`,
    { package: name, range, install, cause: String(cause) },
  );
}

/** Imports a peer, turning a failure into DEPENDENCY_MISSING. */
export async function loadPeer<T>(name: Peer, needs: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    throw missingPeer(name, needs, e);
  }
}
