export type { PgClient, PgPool } from './driver.ts';
export { RuleViolation } from './errors.ts';
export { MIGRATIONS } from './migrations.ts';
export { serviceRoleGrants } from './roles.ts';
export { openPostgresStore, PostgresStore, type PostgresStoreOptions, parsePostgresUrl } from './store.ts';
