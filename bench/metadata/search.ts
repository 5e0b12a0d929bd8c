/**
 * Latency of the discovery search API (GET /discovery/search?q=…&limit=20) over every IdP of the
 * aggregate, one request after another over a kept-alive connection, with what users type: word
 * beginnings of names in their languages and scripts, whole place names, 1–3 letters, domains and
 * e-mail addresses, names typed without accents, and things no IdP is called.
 */
import { Agent, request } from 'node:http';
import type { FederationEntity } from '../../test/fixtures/metadata/generate.js';
import { pick, seededRandom } from '../../test/fixtures/metadata/names.js';
import { percentile } from '../lib/stats.js';

export type QueryKind = 'word prefix' | 'local script' | 'whole name' | '1–3 letters' | 'domain' | 'e-mail' | 'no accents' | 'no match';

export interface Query {
  kind: QueryKind;
  q: string;
}

export interface SearchResult {
  queries: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Per kind: how many, and how many found at least one IdP. */
  kinds: Record<string, { queries: number; found: number; p99Ms: number }>;
  errors: number;
}

const NON_MATCHES = ['zzyzx', 'qwxv university', 'xylophone', 'Hogwarts', 'nonexistent.example', 'Ωμεγαλφα', '不存在的大学'];
const WEIGHTS: [QueryKind, number][] = [
  ['word prefix', 25],
  ['local script', 15],
  ['whole name', 10],
  ['1–3 letters', 20],
  ['domain', 8],
  ['e-mail', 7],
  ['no accents', 5],
  ['no match', 10],
];

const isLatin = (s: string) => /^[\p{Script=Latin}\p{N}\p{P}\s]*$/u.test(s);
const stripAccents = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '');

/** `count` queries drawn from the IdPs' names and domains; the same seed gives the same queries. */
export function searchQueries(entities: readonly FederationEntity[], count: number, seed: number): Query[] {
  const random = seededRandom(seed);
  const idps = entities.filter((e) => e.role === 'idp');
  const nonLatin = idps.filter((e) => Object.values(e.names).some((n) => !isLatin(n)));
  const accented = idps.filter((e) => Object.values(e.names).some((n) => isLatin(n) && stripAccents(n) !== n));
  const total = WEIGHTS.reduce((sum, [, w]) => sum + w, 0);
  const kindOf = () => {
    let r = random() * total;
    for (const [kind, weight] of WEIGHTS) if ((r -= weight) < 0) return kind;
    return WEIGHTS[0]![0];
  };
  const prefix = (word: string, min: number, max: number) => [...word].slice(0, min + Math.floor(random() * (max - min + 1))).join('');
  const queries: Query[] = [];
  while (queries.length < count) {
    const kind = kindOf();
    const idp = pick(random, idps);
    let q: string;
    switch (kind) {
      case 'word prefix': {
        const words = pick(random, Object.values(idp.names)).split(/\s+/).filter((w) => w.length > 2);
        q = prefix(pick(random, words), 3, 8);
        break;
      }
      case 'local script': {
        const name = Object.values(pick(random, nonLatin).names).find((n) => !isLatin(n))!;
        q = prefix(name, 2, 6);
        break;
      }
      case 'whole name':
        q = pick(random, Object.values(idp.names));
        break;
      case '1–3 letters':
        q = prefix(idp.names.en, 1, 3);
        break;
      case 'domain':
        q = idp.domain;
        break;
      case 'e-mail':
        q = `j.smith@${idp.domain}`;
        break;
      case 'no accents': {
        const name = Object.values(pick(random, accented).names).find((n) => isLatin(n) && stripAccents(n) !== n)!;
        q = stripAccents(name);
        break;
      }
      case 'no match':
        q = pick(random, NON_MATCHES);
        break;
    }
    queries.push({ kind, q });
  }
  return queries;
}

function getJson(agent: Agent, url: URL): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { accept: 'application/json', 'accept-language': 'en' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Warm-up queries first (JIT), then `queries` one after another; latency measured at the client. */
export async function measureSearch(baseUrl: string, queries: readonly Query[], warmup: readonly Query[]): Promise<SearchResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const ask = async (query: Query) => {
    const url = new URL('/discovery/search', baseUrl);
    url.searchParams.set('q', query.q);
    url.searchParams.set('limit', '20');
    const started = performance.now();
    const { status, body } = await getJson(agent, url);
    const ms = performance.now() - started;
    const total = (body as { total?: unknown }).total;
    const ok = status === 200 && typeof total === 'number' && Array.isArray((body as { results?: unknown }).results);
    return { ms, ok, found: ok && (total as number) > 0 };
  };
  try {
    for (const query of warmup) await ask(query);
    const latencies: number[] = [];
    const byKind = new Map<string, { latencies: number[]; found: number }>();
    let errors = 0;
    for (const query of queries) {
      const { ms, ok, found } = await ask(query);
      if (!ok) errors++;
      latencies.push(ms);
      const kind = byKind.get(query.kind) ?? { latencies: [], found: 0 };
      kind.latencies.push(ms);
      if (found) kind.found++;
      byKind.set(query.kind, kind);
    }
    return {
      queries: queries.length,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: Math.max(...latencies),
      kinds: Object.fromEntries([...byKind].map(([kind, k]) => [kind, { queries: k.latencies.length, found: k.found, p99Ms: percentile(k.latencies, 99) }])),
      errors,
    };
  } finally {
    agent.destroy();
  }
}
