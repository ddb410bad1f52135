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

/** `evident witness`: its database, cosigner key file and port when no flag names them. */
export const WITNESS_DEFAULT_DB = './witness.db';
export const WITNESS_DEFAULT_KEY = './witness.key';
export const WITNESS_DEFAULT_PORT = 8081;
/** `evident forward`: the cursor file, records per delivery, how often to look for new entries, retry delays. */
export const FORWARD_DEFAULT_STATE = './evident-forward.json';
export const FORWARD_DEFAULT_BATCH = 100;
export const FORWARD_DEFAULT_POLL_MS = 1000;
export const FORWARD_RETRY_BASE_MS = 250;
export const FORWARD_RETRY_MAX_MS = 30_000;
/** How long a connection or a webhook answer may take before the attempt counts as failed. */
export const FORWARD_TIMEOUT_MS = 30_000;
/** `evident verify --workers`: the most threads that may check entries. */
export const MAX_VERIFY_WORKERS = 64;
/** `evident report`: working hours (local time), working days and their time zone, for after-hours access. */
export const REPORT_DEFAULT_WORK_HOURS = '08:00-18:00';
export const REPORT_DEFAULT_WORK_DAYS = 'mon-fri';
export const REPORT_DEFAULT_TIME_ZONE = 'UTC';
export const REPORT_DEFAULT_FORMAT = 'html';
/** `evident review list` and `evident doctor`: the review cadence when neither --cadence nor --regulation names one. */
export const REVIEW_DEFAULT_CADENCE = 'soc2';
/** `evident doctor`: a checkpoint older than this while entries wait unsigned is a warning; recent events inspected. */
export const DOCTOR_CHECKPOINT_MAX_AGE_MS = 24 * 3600_000;
export const DOCTOR_RECENT_EVENTS = 1000;
