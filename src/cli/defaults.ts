/** Defaults of the CLI's own commands, read by the command declarations (help) and the actions. */

/** Entries `evident query` prints without --limit or --all; a longer answer says it was cut. */
export const QUERY_DEFAULT_LIMIT = 100;

/** `evident query failures`: the window in hours, and the fewest failures or denials listed. */
export const FAILURES_DEFAULT_HOURS = 24;
export const FAILURES_DEFAULT_MIN = 5;

/** The database and the key file when neither a flag nor the environment names them. */
export const DEFAULT_DB = './evident.db';
export const DEFAULT_KEY = './evident.key';

/** `evident serve`'s log level. */
export const SERVE_DEFAULT_LOG_LEVEL = 'info';

/** `evident verify --workers`: the most threads that may check entries. */
export const MAX_VERIFY_WORKERS = 64;
