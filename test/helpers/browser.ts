/**
 * A small scripted browser for end-to-end tests: a cookie jar per host, redirects followed, and
 * fedgate's auto-POST forms (id="auto-post") submitted the way a browser's script would.
 * Loopback only.
 */

export interface Page {
  url: string;
  status: number;
  headers: Headers;
  body: string;
}

export interface Form {
  action: string;
  method: string;
  fields: Record<string, string>;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1]?.toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)')`, 'i').exec(tag);
  return m ? decodeEntities(m[2] ?? m[3] ?? '') : undefined;
}

/** The forms of a page with their non-submit inputs (first value wins for repeated names). */
export function parseForms(page: Page): Form[] {
  const forms: Form[] = [];
  const formRe = /<form\b([^>]*)>([\s\S]*?)<\/form>/gi;
  for (let m = formRe.exec(page.body); m; m = formRe.exec(page.body)) {
    const tag = `<form${m[1] ?? ''}>`;
    const fields: Record<string, string> = {};
    const inputRe = /<(input|button)\b[^>]*>/gi;
    for (let i = inputRe.exec(m[2] ?? ''); i; i = inputRe.exec(m[2] ?? '')) {
      const name = attr(i[0], 'name');
      const type = (attr(i[0], 'type') ?? 'text').toLowerCase();
      if (!name || (i[1]?.toLowerCase() === 'button' && type !== 'submit')) continue;
      if (i[1]?.toLowerCase() === 'button' || type === 'submit') continue;
      if (!(name in fields)) fields[name] = attr(i[0], 'value') ?? '';
    }
    forms.push({
      action: new URL(attr(tag, 'action') ?? page.url, page.url).toString(),
      method: (attr(tag, 'method') ?? 'get').toLowerCase(),
      fields,
    });
    (forms[forms.length - 1] as Form & { id?: string }).id = attr(tag, 'id');
  }
  return forms;
}

export class Browser {
  /** host → cookie name → value */
  readonly cookies = new Map<string, Map<string, string>>();
  /** Every page fetched, in order: useful in assertions and when a test fails. */
  readonly history: Page[] = [];

  constructor(private readonly maxSteps = 25) {}

  async get(url: string): Promise<Page> {
    return this.navigate(url, { method: 'GET' });
  }

  async post(url: string, fields: Record<string, string>): Promise<Page> {
    return this.navigate(url, {
      method: 'POST',
      body: new URLSearchParams(fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }

  /** Submits a form of `page` (by id, or the first), with `overrides` merged into its fields. */
  async submit(page: Page, overrides: Record<string, string> = {}, formId?: string): Promise<Page> {
    const forms = parseForms(page);
    const form = formId ? forms.find((f) => (f as Form & { id?: string }).id === formId) : forms[0];
    if (!form) throw new Error(`no form${formId ? ` #${formId}` : ''} on ${page.url}:\n${page.body.slice(0, 500)}`);
    const fields = { ...form.fields, ...overrides };
    if (form.method === 'post') return this.post(form.action, fields);
    const target = new URL(form.action);
    for (const [k, v] of Object.entries(fields)) target.searchParams.set(k, v);
    return this.get(target.toString());
  }

  /**
   * Makes the hosts of `urls` one cookie jar, as fedgate instances behind one load balancer are
   * one site to a real browser (whose cookies are not kept apart by port either).
   */
  shareCookies(...urls: string[]): void {
    const hosts = urls.map((url) => new URL(url).host);
    const jar = hosts.map((host) => this.cookies.get(host)).find((j) => j !== undefined) ?? new Map<string, string>();
    for (const host of hosts) this.cookies.set(host, jar);
  }

  /** One request without following anything (redirects and auto-POST forms included). */
  async fetchRaw(url: string, init: RequestInit): Promise<Page> {
    const u = new URL(url);
    if (!['127.0.0.1', '[::1]', 'localhost'].includes(u.hostname)) throw new Error(`test browser refuses non-loopback ${url}`);
    const headers = new Headers(init.headers);
    const jar = this.cookies.get(u.host);
    if (jar && jar.size > 0) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual', signal: AbortSignal.timeout(15_000) });
    this.storeCookies(u.host, res.headers);
    const page = { url, status: res.status, headers: res.headers, body: await res.text() };
    this.history.push(page);
    return page;
  }

  private async navigate(url: string, init: RequestInit): Promise<Page> {
    let page = await this.fetchRaw(url, init);
    for (let step = 0; step < this.maxSteps; step++) {
      const location = page.headers.get('location');
      if (page.status >= 300 && page.status < 400 && location) {
        page = await this.fetchRaw(new URL(location, page.url).toString(), { method: 'GET' });
        continue;
      }
      const autoPost = parseForms(page).find((f) => (f as Form & { id?: string }).id === 'auto-post');
      if (page.status === 200 && autoPost) {
        page = await this.fetchRaw(autoPost.action, {
          method: 'POST',
          body: new URLSearchParams(autoPost.fields).toString(),
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
        continue;
      }
      return page;
    }
    throw new Error(`more than ${this.maxSteps} redirects or auto-posts from ${url}`);
  }

  private storeCookies(host: string, headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (!pair || eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const jar = this.cookies.get(host) ?? new Map<string, string>();
      this.cookies.set(host, jar);
      const expired = attrs.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a) || (/^\s*expires\s*=/i.test(a) && Date.parse(a.split('=')[1] ?? '') < Date.now()));
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  }
}
