/**
 * A tiny Prometheus registry: counters and histograms with labels, rendered in the text
 * exposition format 0.0.4. Enough for the handful of series the server keeps; no dependency.
 */

type Labels = Readonly<Record<string, string | number>>;

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

function keyOf(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const k = keyOf(labels);
    const v = this.values.get(k);
    if (v) v.value += by;
    else this.values.set(k, { labels, value: by });
  }

  get(labels: Labels = {}): number {
    return this.values.get(keyOf(labels))?.value ?? 0;
  }

  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.values.values())
      out.push(`${this.name}${labelText(labels)} ${value}`);
    return out;
  }
}

export class Histogram {
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}

  observe(value: number, labels: Labels = {}): void {
    const k = keyOf(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      for (const [i, le] of this.buckets.entries()) {
        out.push(`${this.name}_bucket${labelText({ ...s.labels, le })} ${s.counts[i]}`);
      }
      out.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      out.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`);
      out.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return out;
  }
}

export class Gauge {
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  set(labels: Labels, value: number): void {
    this.values.set(keyOf(labels), { labels, value });
  }

  get(labels: Labels = {}): number | undefined {
    return this.values.get(keyOf(labels))?.value;
  }

  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    for (const { labels, value } of this.values.values())
      out.push(`${this.name}${labelText(labels)} ${value}`);
    return out;
  }
}

/** The server's series. Label values are route patterns and codes, never log names or client text. */
export class ServerMetrics {
  readonly ingestEvents = new Counter('evident_ingest_events_total', 'Events accepted through the HTTP API.');
  readonly ingestRequests = new Counter('evident_ingest_requests_total', 'Ingest requests, by outcome.');
  readonly batches = new Counter('evident_commit_batches_total', 'Group commits that appended entries.');
  readonly batchSize = new Histogram(
    'evident_commit_batch_size',
    'Entries appended per group commit.',
    [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
  );
  readonly commitSeconds = new Histogram(
    'evident_commit_duration_seconds',
    'Time of one durable write transaction (group commit or checkpoint).',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  );
  readonly errors = new Counter('evident_errors_total', 'Error answers, by error code.');
  readonly httpRequests = new Counter(
    'evident_http_requests_total',
    'HTTP requests, by method, route and status.',
  );
  readonly httpSeconds = new Histogram(
    'evident_http_request_duration_seconds',
    'HTTP request duration, by route.',
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  );
  readonly accessEvents = new Counter(
    'evident_access_audit_events_total',
    'Access audit events appended, by action and result.',
  );
  readonly accessAuditFailures = new Counter(
    'evident_access_audit_failures_total',
    'Access audit events that could not be appended.',
  );
  readonly integrityAlarms = new Counter(
    'evident_integrity_alarms_total',
    "Requests refused because the server's own data failed a check, by error code and rule.",
  );

  readonly logsFenced = new Counter(
    'evident_logs_fenced_total',
    'Logs fenced by this process because the tree contradicts a published checkpoint, by log, source and rule.',
  );

  readonly alertsRaised = new Counter(
    'evident_alerts_raised_total',
    'Alerts raised by this process, by rule.',
  );
  readonly alertDeliveries = new Counter(
    'evident_alert_deliveries_total',
    'Alert deliveries attempted by this process, by sink and outcome (delivered, failed).',
  );
  readonly alertQueueDepth = new Gauge(
    'evident_alert_queue_depth',
    'Alert deliveries not yet acknowledged by their sink (every process of the database).',
  );

  readonly witnessRequests = new Counter(
    'evident_witness_requests_total',
    'Checkpoints sent to witnesses, by witness (its policy name) and outcome.',
  );
  readonly witnessUp = new Gauge(
    'evident_witness_up',
    'Whether the last request to the witness got its cosignature (1) or failed (0).',
  );
  readonly checkpointsUnwitnessed = new Counter(
    'evident_checkpoint_quorum_unmet_total',
    'Checkpoints served without the witness quorum of the policy.',
  );

  readonly archivePasses = new Counter(
    'evident_archive_passes_total',
    'Archive passes, by outcome (ok, or the error code).',
  );
  readonly archiveSealed = new Counter(
    'evident_archive_sealed_segments_total',
    'Segments sealed and put to every target.',
  );
  readonly archivePruned = new Counter(
    'evident_archive_pruned_entries_total',
    'Entries pruned from the store past online retention.',
  );
  readonly archiveLastSealed = new Gauge(
    'evident_archive_last_sealed_index',
    'Last entry index sealed and held by every target (the last log passed).',
  );
  readonly archiveLag = new Gauge(
    'evident_archive_lag_entries',
    'Entries not yet sealed (the last log passed).',
  );
  readonly archivePrunedThrough = new Gauge(
    'evident_archive_pruned_through',
    'Entries before this index are pruned (the last log passed).',
  );
  readonly archiveLastSuccess = new Gauge(
    'evident_archive_last_success_timestamp_seconds',
    'When an archive pass last succeeded.',
  );

  readonly clusterUp = new Gauge(
    'evident_cluster_up',
    'Whether each PostgreSQL cluster of the cluster map answered its last probe (1) or not (0) (docs/clusters.md).',
  );
  readonly clusterProbeFailures = new Counter(
    'evident_cluster_probe_failures_total',
    'Probes of a cluster of the cluster map that failed, by cluster and error code.',
  );

  /** Records one probe of each cluster of the cluster map (/readyz, /metrics). */
  clusterHealth(health: readonly { name: string; up: boolean; code?: string }[]): void {
    for (const c of health) {
      this.clusterUp.set({ cluster: c.name }, c.up ? 1 : 0);
      if (!c.up) this.clusterProbeFailures.inc({ cluster: c.name, code: c.code ?? 'INTERNAL' });
    }
  }

  /** Records one archive pass of a log (../archive/scheduler.ts). */
  archivePass(
    r:
      | {
          sealed: unknown[];
          pruned: { entries: number }[];
          last_sealed: number | null;
          lag_entries: number;
          pruned_through: number;
        }
      | undefined,
    e: unknown,
  ): void {
    if (!r) {
      const code = (e as { code?: unknown })?.code;
      this.archivePasses.inc({ outcome: typeof code === 'string' ? code : 'INTERNAL' });
      return;
    }
    this.archivePasses.inc({ outcome: 'ok' });
    this.archiveSealed.inc({}, r.sealed.length);
    this.archivePruned.inc(
      {},
      r.pruned.reduce((n, p) => n + p.entries, 0),
    );
    if (r.last_sealed !== null) this.archiveLastSealed.set({}, r.last_sealed);
    this.archiveLag.set({}, r.lag_entries);
    this.archivePrunedThrough.set({}, r.pruned_through);
    this.archiveLastSuccess.set({}, Math.floor(Date.now() / 1000));
  }

  render(): string {
    const all = [
      this.witnessRequests,
      this.witnessUp,
      this.checkpointsUnwitnessed,
      this.archivePasses,
      this.archiveSealed,
      this.archivePruned,
      this.archiveLastSealed,
      this.archiveLag,
      this.archivePrunedThrough,
      this.archiveLastSuccess,
      this.ingestEvents,
      this.ingestRequests,
      this.batches,
      this.batchSize,
      this.commitSeconds,
      this.errors,
      this.httpRequests,
      this.httpSeconds,
      this.accessEvents,
      this.accessAuditFailures,
      this.integrityAlarms,
      this.logsFenced,
      this.alertsRaised,
      this.alertDeliveries,
      this.alertQueueDepth,
      this.clusterUp,
      this.clusterProbeFailures,
    ];
    return `${all.flatMap((m) => m.render()).join('\n')}\n`;
  }
}
