/**
 * The search behind the discovery page and its JSON API, over every listed upstream (SAML IdPs
 * and social/OIDC providers). Built once per set of upstreams (a metadata generation); a query
 * then never looks at every upstream: words are found by binary search in a sorted word list,
 * substrings by indexOf over one string per column, domains in maps. With eduGAIN's thousands of
 * IdPs a query costs what its matches cost.
 *
 * A query finds an upstream by its display names in every language and script or its keywords
 * (case- and accent-insensitive, ./fold.ts), or by domain: a DomainHint, a literal shibmd:Scope,
 * or the host of its entityID or issuer; an e-mail address is searched by its domain. Results
 * come ranked, then by name:
 *   0 a name equals the query              3 every word begins a word of a name or keyword
 *   1 every word begins a word of a name   4 the domain (or a parent of it) is a DomainHint or scope
 *   2 a name contains the query            5 the host is the domain or below it
 *                                          6 a domain, host or the identifier contains the query
 * Containment (2, 6) needs three characters (or one outside the Latin script: "大学"), so the
 * first letters typed match beginnings of words, not every name with that letter inside.
 * Upstreams hidden from discovery are not in the index at all.
 */
import { domainToASCII } from 'node:url';
import type { UpstreamRegistration } from '../core/registration.js';
import { pickLocalized } from '../http/language.js';
import { allows, type ServiceFilter } from './filters.js';
import { fold, foldedForms, words } from './fold.js';

export interface SearchHit {
  upstream: UpstreamRegistration;
  /** The domain the query matched, else the IdP's main domain; none for OIDC and OAuth providers, known by name. */
  domain?: string;
}

export interface SearchResult {
  /** Every match, of which `hits` are the best `limit`. */
  total: number;
  hits: SearchHit[];
}

export interface SearchOptions {
  /** The service's filter: upstreams it does not allow are not found. */
  filter?: ServiceFilter;
  limit: number;
}

const RANK = { exactName: 0, nameWords: 1, nameContains: 2, keywords: 3, domain: 4, host: 5, identifier: 6 } as const;
const RANKS = 7;
const UNRANKED = RANKS;

interface Entry {
  upstream: UpstreamRegistration;
  /** Host of the entityID or issuer. */
  host?: string;
  /** Shown beside the name: the first domain, else the host. */
  mainDomain?: string;
}

interface Query {
  /** The folded query (for an e-mail address: its domain part). */
  folded: string;
  words: string[];
  /** " word word …" of the query, to compare with whole names. */
  joined: string;
  /** The query as a DNS name in ASCII, when it looks like one (or is an e-mail address). */
  domain?: string;
  /** An e-mail address: only its domain is searched. */
  email: boolean;
  /** Long (or non-Latin) enough to search inside names and domains. */
  contains: boolean;
}

/** The host of an http(s) identifier (entityID or issuer), lower case ASCII. */
function hostOf(id: string): string | undefined {
  if (!/^https?:\/\//i.test(id)) return undefined;
  try {
    return new URL(id).hostname || undefined;
  } catch {
    return undefined;
  }
}

/** A domain and its parents down to two labels: a.b.example.org → itself, b.example.org, example.org. */
function withParents(domain: string): string[] {
  const labels = domain.split('.');
  return labels.slice(0, Math.max(labels.length - 1, 1)).map((_, i) => labels.slice(i).join('.'));
}

function asciiDomain(name: string): string | undefined {
  const lower = name.toLowerCase().replace(/\.$/, '');
  return (/^[\x21-\x7e]+$/.test(lower) ? lower : domainToASCII(lower)) || undefined;
}

function parseQuery(raw: string): Query | undefined {
  const text = raw.trim();
  if (text === '') return undefined;
  const at = text.lastIndexOf('@');
  const email = at >= 0;
  const domainPart = email ? text.slice(at + 1) : text;
  const domain = /^[^\s@/:]+\.[^\s@/:]+$/u.test(domainPart) ? asciiDomain(domainPart) : undefined;
  const folded = fold(domainPart);
  const queryWords = words(folded);
  if (queryWords.length === 0 && !domain) return undefined;
  return {
    folded,
    words: queryWords,
    joined: ` ${queryWords.join(' ')}`,
    ...(domain ? { domain } : {}),
    email,
    contains: folded.length >= 3 || /[^\u0000-\u024f]/u.test(folded),
  };
}

function addTo(map: Map<string, number[]>, key: string, i: number): void {
  const list = map.get(key);
  if (!list) map.set(key, [i]);
  else if (list.at(-1) !== i) list.push(i);
}

/** First position in sorted `list` whose value is not below `value`. */
function lowerBound(list: string[], value: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Some texts of every entry in one string, lines separated by "\n" (which no query contains), so
 * a substring is found in all of them by a few indexOf calls.
 */
class TextColumn {
  private readonly text: string;
  /** Where each entry's lines begin. */
  private readonly starts: Int32Array;

  constructor(linesPerEntry: string[][]) {
    this.starts = new Int32Array(linesPerEntry.length);
    let offset = 0;
    const texts = linesPerEntry.map((lines, i) => {
      const text = lines.join('\n');
      this.starts[i] = offset;
      offset += text.length + 1;
      return text;
    });
    this.text = texts.join('\n');
  }

  /** Calls `found` once with every entry one of whose lines contains `needle`, in order. */
  find(needle: string, found: (entry: number) => void): void {
    const last = this.starts.length - 1;
    let entry = 0;
    for (let at = this.text.indexOf(needle); at >= 0; ) {
      // The entry holding `at`: occurrences come in order, so search only from the previous one on.
      let hi = last;
      while (entry < hi) {
        const mid = (entry + hi + 1) >>> 1;
        if (this.starts[mid]! <= at) entry = mid;
        else hi = mid - 1;
      }
      found(entry);
      if (entry === last) break;
      at = this.text.indexOf(needle, this.starts[++entry]!);
    }
  }
}

/** Which upstreams a filter allows, and how many. */
interface Allowed {
  mask: Uint8Array;
  count: number;
}

/** What a built index holds; see DiscoveryIndex's fields. */
interface IndexParts {
  entries: Entry[];
  byId: Map<string, number>;
  exactNames: Map<string, number[]>;
  words: string[];
  postings: Int32Array[];
  names: TextColumn;
  identifiers: TextColumn;
  byDomain: Map<string, number[]>;
  byHost: Map<string, number[]>;
}

/** How long one step of an asynchronous build may hold the event loop. */
const STEP_MS = 5;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Builds the index in steps, so that an asynchronous build of eduGAIN's thousands of IdPs (about
 * a second of CPU) never holds the event loop for long: logins go on while it runs.
 */
class IndexBuilder {
  private readonly upstreams: UpstreamRegistration[];
  private readonly sortKeys: string[] = [];
  private order: number[] = [];
  private done = 0;
  private readonly postingLists = new Map<string, number[]>();
  private readonly nameLines: string[][] = [];
  private readonly identifierLines: string[][] = [];
  private readonly parts: Omit<IndexParts, 'words' | 'postings' | 'names' | 'identifiers'> = {
    entries: [],
    byId: new Map(),
    exactNames: new Map(),
    byDomain: new Map(),
    byHost: new Map(),
  };

  constructor(upstreams: readonly UpstreamRegistration[]) {
    this.upstreams = upstreams.filter((u) => !u.hidden);
  }

  /** Works on the index until `until` (a performance.now() instant) has passed; true when all upstreams are in. */
  step(until: number): boolean {
    const n = this.upstreams.length;
    while (this.sortKeys.length < n) {
      const upstream = this.upstreams[this.sortKeys.length]!;
      this.sortKeys.push(fold(pickLocalized(upstream.displayName, []) ?? upstream.id));
      if (this.sortKeys.length === n) {
        const keys = this.sortKeys;
        this.order = keys.map((_, i) => i).sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0));
      }
      if (performance.now() > until) return false;
    }
    while (this.done < n) {
      this.add(this.upstreams[this.order[this.done]!]!, this.done);
      this.done++;
      if (performance.now() > until) break;
    }
    return this.done === n;
  }

  result(): DiscoveryIndex {
    this.step(Infinity);
    // The default sort compares UTF-16 code units, as lowerBound does.
    const words = [...this.postingLists.keys()].sort();
    return new DiscoveryIndex({
      ...this.parts,
      words,
      postings: words.map((word) => Int32Array.from(this.postingLists.get(word)!)),
      names: new TextColumn(this.nameLines),
      identifiers: new TextColumn(this.identifierLines),
    });
  }

  /** Adds `upstream` as entry `i` (entries come in name order). */
  private add(upstream: UpstreamRegistration, i: number): void {
    const { entries, byId, exactNames, byDomain, byHost } = this.parts;
    const names = [...new Set(Object.values(upstream.displayName).flatMap(foldedForms))].filter((n) => n !== '');
    for (const name of names) {
      const nameWords = words(name);
      addTo(exactNames, ` ${nameWords.join(' ')}`, i);
      for (const word of nameWords) this.post(word, i, true);
    }
    this.nameLines.push(names);
    for (const keyword of (upstream.keywords ?? []).flatMap(foldedForms)) {
      for (const word of words(keyword)) this.post(word, i, false);
    }
    const literalScopes = upstream.scopes.filter((s) => !s.regexp).map((s) => s.value);
    const domains = [...new Set([...(upstream.domainHints ?? []), ...literalScopes].flatMap((d) => asciiDomain(d) ?? []))];
    const host = hostOf(upstream.id);
    for (const domain of domains) addTo(byDomain, domain, i);
    if (host) for (const key of withParents(host)) addTo(byHost, key, i);
    this.identifierLines.push([...domains, ...(host ? [host] : []), upstream.id.toLowerCase().replace(/\s+/g, ' ')]);
    if (!byId.has(upstream.id)) byId.set(upstream.id, i);
    const mainDomain = domains[0] ?? host;
    entries.push({ upstream, ...(host ? { host } : {}), ...(mainDomain ? { mainDomain } : {}) });
  }

  private post(word: string, i: number, inName: boolean): void {
    const list = this.postingLists.get(word);
    const code = i * 2 + (inName ? 1 : 0);
    if (!list) this.postingLists.set(word, [code]);
    else if (list.at(-1)! < code) list.push(code);
  }
}

export class DiscoveryIndex {
  /** Sorted by name: an entry's position is its place among equally ranked results. */
  private readonly entries: Entry[];
  private readonly byId: Map<string, number>;
  /** " word word …" of every name → entries. */
  private readonly exactNames: Map<string, number[]>;
  /** Every word of every name and keyword, sorted. */
  private readonly words: string[];
  /** Per word, its entries as `entry * 2 + (1 when a name has the word, 0 when only a keyword)`. */
  private readonly postings: Int32Array[];
  private readonly names: TextColumn;
  private readonly identifiers: TextColumn;
  /** DomainHints and literal scopes → entries. */
  private readonly byDomain: Map<string, number[]>;
  /** Hosts and their parent domains → entries. */
  private readonly byHost: Map<string, number[]>;
  /** Per filter (configuration objects, the same for the index's life). */
  private readonly allowed = new Map<ServiceFilter, Allowed>();

  /** The index of `upstreams`, built at once. */
  static of(upstreams: readonly UpstreamRegistration[]): DiscoveryIndex {
    return new IndexBuilder(upstreams).result();
  }

  /** The index of `upstreams`, built in steps between which other work runs. */
  static async build(upstreams: readonly UpstreamRegistration[]): Promise<DiscoveryIndex> {
    const builder = new IndexBuilder(upstreams);
    while (!builder.step(performance.now() + STEP_MS)) await nextTurn();
    await nextTurn();
    return builder.result();
  }

  constructor(parts: IndexParts) {
    this.entries = parts.entries;
    this.byId = parts.byId;
    this.exactNames = parts.exactNames;
    this.words = parts.words;
    this.postings = parts.postings;
    this.names = parts.names;
    this.identifiers = parts.identifiers;
    this.byDomain = parts.byDomain;
    this.byHost = parts.byHost;
  }

  /** Listed upstreams. */
  get size(): number {
    return this.entries.length;
  }

  /** A listed upstream (not hidden from discovery) by id, with its main domain. */
  get(id: string): SearchHit | undefined {
    const i = this.byId.get(id);
    return i === undefined ? undefined : this.hit(i);
  }

  /** The `limit` best matches of `query`; an empty query lists every upstream by name. */
  search(query: string, options: SearchOptions): SearchResult {
    const allowed = options.filter ? this.allowedBy(options.filter) : undefined;
    const q = parseQuery(query);
    if (!q) return this.list(allowed, options.limit);

    const ranks = new Uint8Array(this.entries.length).fill(UNRANKED);
    const matched: number[] = [];
    const offer = (i: number, rank: number) => {
      if (allowed && allowed.mask[i] === 0) return;
      if (ranks[i] === UNRANKED) matched.push(i);
      if (rank < ranks[i]!) ranks[i] = rank;
    };
    const shownDomain = new Map<number, string>();
    if (q.domain) this.matchDomain(q.domain, offer, shownDomain);
    if (!q.email && q.words.length > 0) {
      for (const i of this.exactNames.get(q.joined) ?? []) offer(i, RANK.exactName);
      this.matchWords(q.words, offer);
      if (q.contains) this.names.find(q.folded, (i) => offer(i, RANK.nameContains));
    }
    const needle = q.domain ?? q.folded;
    if (q.contains && needle !== '') this.identifiers.find(needle, (i) => offer(i, RANK.identifier));

    // Best rank first, then by name, which is the order of the entries: a scan, not a sort.
    const perRank = new Int32Array(RANKS);
    for (const i of matched) perRank[ranks[i]!]!++;
    const hits: SearchHit[] = [];
    for (let rank = 0; rank < RANKS && hits.length < options.limit; rank++) {
      for (let i = 0, left = perRank[rank]!; left > 0 && hits.length < options.limit; i++) {
        if (ranks[i] !== rank) continue;
        left--;
        hits.push(this.hit(i, rank === RANK.host ? this.entries[i]!.host : shownDomain.get(i)));
      }
    }
    return { total: matched.length, hits };
  }

  private hit(i: number, matchedDomain?: string): SearchHit {
    const entry = this.entries[i]!;
    // A provider's host (accounts.google.com) says nothing about the user's organisation.
    const domain = entry.upstream.protocol === 'saml' ? (matchedDomain ?? entry.mainDomain) : undefined;
    return { upstream: entry.upstream, ...(domain ? { domain } : {}) };
  }

  private list(allowed: Allowed | undefined, limit: number): SearchResult {
    const hits: SearchHit[] = [];
    for (let i = 0; i < this.entries.length && hits.length < limit; i++) {
      if (!allowed || allowed.mask[i] === 1) hits.push(this.hit(i));
    }
    return { total: allowed ? allowed.count : this.entries.length, hits };
  }

  /** Ranks 1 and 3: every query word begins a word of the names (or of names and keywords). */
  private matchWords(queryWords: string[], offer: (i: number, rank: number) => void): void {
    const n = this.entries.length;
    const inNames = new Uint8Array(n);
    const inAny = new Uint8Array(n);
    const lastName = new Int16Array(n).fill(-1);
    const lastAny = new Int16Array(n).fill(-1);
    const candidates: number[] = [];
    queryWords.forEach((word, k) => {
      for (let j = lowerBound(this.words, word); j < this.words.length && this.words[j]!.startsWith(word); j++) {
        for (const code of this.postings[j]!) {
          const i = code >>> 1;
          if (lastAny[i] !== k) {
            lastAny[i] = k;
            if (k === 0) candidates.push(i);
            inAny[i] = inAny[i]! + 1;
          }
          if ((code & 1) === 1 && lastName[i] !== k) {
            lastName[i] = k;
            inNames[i] = inNames[i]! + 1;
          }
        }
      }
    });
    const all = queryWords.length;
    for (const i of candidates) {
      if (inNames[i] === all) offer(i, RANK.nameWords);
      else if (inAny[i] === all) offer(i, RANK.keywords);
    }
  }

  /**
   * Ranks 4 and 5: a DomainHint or scope is the domain or a parent of it (`shown` learns which);
   * the host is the domain or below it.
   */
  private matchDomain(domain: string, offer: (i: number, rank: number) => void, shown: Map<number, string>): void {
    for (const candidate of withParents(domain)) {
      for (const i of this.byDomain.get(candidate) ?? []) {
        if (!shown.has(i)) shown.set(i, candidate);
        offer(i, RANK.domain);
      }
    }
    for (const i of this.byHost.get(domain) ?? []) offer(i, RANK.host);
  }

  private allowedBy(filter: ServiceFilter): Allowed {
    let allowed = this.allowed.get(filter);
    if (!allowed) {
      const mask = Uint8Array.from(this.entries, (e) => (allows(filter, e.upstream) ? 1 : 0));
      allowed = { mask, count: mask.reduce((n, v) => n + v, 0) };
      this.allowed.set(filter, allowed);
    }
    return allowed;
  }
}
