/**
 * `evident serve` under faults, with clients that keep sending and retry what failed (same ids,
 * so a retry of something already committed is answered with its original receipt):
 *
 * - SQLite: the one process SIGKILLed mid-ingest and restarted on the same file.
 * - PostgreSQL, three processes: one SIGKILLed mid-ingest; every connection cut and the next
 *   ones ended at startup (through pg-proxy.ts); the connections terminated again and again.
 * - PostgreSQL outage: a throwaway cluster stopped (immediate mode: a crash) and started again.
 *
 * Afterwards, every time: every acknowledged event is where its receipt says, nothing is
 * stored twice, no log is forked (indexes 0..n-1 once each), and `evident verify` passes.
 *
 * One file on purpose: the scenarios run one after another, never two at once (each is three
 * processes and sixteen clients; two at once on a small machine upset the timings the kill test
 * checks). Each scenario lives in its own module (faults-*.ts), the setup and the checks they
 * share in faults-support.ts.
 *
 * EVIDENT_FAULT_EVENTS sets the events per scenario (default 15,000). The outage scenario needs
 * the PostgreSQL server binaries (EVIDENT_TEST_PG_BIN, else /usr/lib/postgresql/N/bin) and is
 * skipped, with a message, without them.
 */
import { outageFaults } from './faults-outage.ts';
import { postgresFaults } from './faults-postgres.ts';
import { sqliteFaults } from './faults-sqlite.ts';

sqliteFaults();
await postgresFaults();
outageFaults();
