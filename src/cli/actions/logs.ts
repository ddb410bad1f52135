/** evident logs: each log with its size, origin and latest signed checkpoint; read-only. */
import type { Context } from '../command.ts';
import { openExistingStore } from '../open-log.ts';
import { note, print, table } from '../output.ts';

interface LogView {
  name: string;
  origin: string;
  size: number;
  checkpoint: { size: number; created_at: string } | null;
  erasable: string[];
  created_at: string;
}

export async function run(ctx: Context): Promise<number> {
  const store = await openExistingStore(ctx, { readonly: true });
  const views: LogView[] = [];
  try {
    for (const log of await store.listLogs()) {
      const head = await store.head(log.id);
      const cp = await store.latestCheckpoint(log.id);
      views.push({
        name: log.name,
        origin: log.origin,
        size: head.size,
        checkpoint: cp ? { size: cp.size, created_at: cp.createdAt } : null,
        erasable: log.erasable,
        created_at: log.createdAt,
      });
    }
  } finally {
    await store.close();
  }
  if (ctx.json) {
    ctx.io.stdout.write(views.map((v) => `${JSON.stringify(v)}\n`).join(''));
    return 0;
  }
  if (views.length === 0) {
    note(ctx, 'no logs yet (create one with evident init)');
    return 0;
  }
  print(
    ctx,
    table(
      ['NAME', 'SIZE', 'ORIGIN', 'CHECKPOINT', 'SIGNED AT'],
      views.map((v) => [
        v.name,
        String(v.size),
        v.origin,
        v.checkpoint ? String(v.checkpoint.size) : '-',
        v.checkpoint?.created_at ?? '-',
      ]),
    ),
  );
  return 0;
}
