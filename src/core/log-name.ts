/**
 * What a log name may be. A name appears in origins (`<host>/<log>`), in URLs of the HTTP API
 * and in file names of exports, so it is one conservative rule, checked the same way by the
 * ledger, the server, the outbox and the client.
 */

/** The rule as a pattern string: the HTTP API's JSON Schema uses it verbatim. */
export const LOG_NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,63}$';

/** The rule in words, for error messages. */
export const LOG_NAME_RULE = '1 to 64 of a-z, 0-9, ".", "_", "-", starting with a letter or digit';

const LOG_NAME = new RegExp(LOG_NAME_PATTERN);

export function isValidLogName(name: string): boolean {
  return LOG_NAME.test(name);
}
