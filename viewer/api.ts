/** The HTTP API as the page calls it: one base URL, one log, one API key (Bearer). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class Api {
  constructor(
    readonly base: string,
    readonly log: string,
    readonly key: string,
  ) {}

  url(path: string, params: Record<string, string | number | undefined> = {}): string {
    const u = new URL(`${this.base.replace(/\/+$/, '')}/v1/logs/${encodeURIComponent(this.log)}${path}`);
    for (const [k, v] of Object.entries(params))
      if (v !== undefined && v !== '') u.searchParams.set(k, String(v));
    return u.toString();
  }

  headers(): Record<string, string> {
    return this.key ? { authorization: `Bearer ${this.key}` } : {};
  }

  async get(path: string, params: Record<string, string | number | undefined> = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.url(path, params), { headers: this.headers(), cache: 'no-store' });
    } catch (e) {
      throw new ApiError(
        0,
        'NETWORK',
        `the server did not answer (${(e as Error).message}); is the URL right, and does the server allow this page (--cors-origin)?`,
      );
    }
    if (!res.ok) {
      let code = `HTTP_${res.status}`;
      let message = res.statusText;
      try {
        const b = (await res.json()) as { code?: string; message?: string };
        code = b.code ?? code;
        message = b.message ?? message;
      } catch {
        // Not our JSON error: keep the status.
      }
      throw new ApiError(res.status, code, `${code}: ${message}`);
    }
    return res;
  }

  async json<T>(path: string, params: Record<string, string | number | undefined> = {}): Promise<T> {
    return (await (await this.get(path, params)).json()) as T;
  }

  async text(path: string, params: Record<string, string | number | undefined> = {}): Promise<string> {
    return (await this.get(path, params)).text();
  }
}
