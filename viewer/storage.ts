/**
 * What the page keeps: the pinned keys, the server and log, and per log origin the last
 * checkpoint it verified (localStorage, so that the next visit demands a consistency proof from
 * it); the API key only for the tab's life (sessionStorage).
 */
import type { Remembered } from './trust.ts';

export type { Remembered };

const P = 'evident.viewer.';

function read<T>(key: string, fallback: T): T {
  try {
    const v = localStorage.getItem(P + key);
    return v === null ? fallback : (JSON.parse(v) as T);
  } catch {
    return fallback;
  }
}

function write(key: string, v: unknown): void {
  try {
    localStorage.setItem(P + key, JSON.stringify(v));
  } catch {
    // Storage full or refused (a private window): the page still works, it forgets sooner.
  }
}

export const store = {
  logKeys: (): string[] => read('vkeys', []),
  setLogKeys: (v: string[]) => write('vkeys', v),
  witnessKeys: (): string[] => read('witnesses', []),
  setWitnessKeys: (v: string[]) => write('witnesses', v),
  /** The pinned witness quorum K; null = all pinned witnesses. */
  quorum: (): number | null => read('quorum', null),
  setQuorum: (v: number | null) => write('quorum', v),
  server: (): string => read('server', ''),
  setServer: (v: string) => write('server', v),
  log: (): string => read('log', 'default'),
  setLog: (v: string) => write('log', v),
  remembered: (origin: string): Remembered | undefined => read(`checkpoint:${origin}`, undefined),
  remember: (origin: string, r: Remembered) => write(`checkpoint:${origin}`, r),
  forget: (origin: string) => localStorage.removeItem(`${P}checkpoint:${origin}`),
  /** [time ms, tree size] of every checkpoint seen, for the growth chart (the last 500). */
  history: (origin: string): [number, number][] => read(`history:${origin}`, []),
  addHistory(origin: string, size: number): void {
    const h = this.history(origin);
    const last = h[h.length - 1];
    if (last && last[1] === size) return;
    h.push([Date.now(), size]);
    write(`history:${origin}`, h.slice(-500));
  },
  /** [received_at ms, index] sampled by the last whole verification. */
  growth: (origin: string): [number, number][] => read(`growth:${origin}`, []),
  setGrowth: (origin: string, g: [number, number][]) => write(`growth:${origin}`, g),
  apiKey: (): string => sessionStorage.getItem(`${P}apikey`) ?? '',
  setApiKey: (v: string) => sessionStorage.setItem(`${P}apikey`, v),
};
