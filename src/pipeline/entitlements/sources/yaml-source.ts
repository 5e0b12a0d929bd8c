/**
 * Group memberships from a YAML file an operator maintains, keyed by community ID or eppn:
 *
 *   "a1b2c3…@proxy.example.org":
 *     - vo.example.org:sub                     # a group in the filter's namespace
 *     - { group: vo.example.org, role: admin }
 *     - urn:geant:other.org:group:shared       # a full URN
 *
 * Every value is checked with the G069 grammar at start-up, and a problem names the file and
 * line. The file is read again when it changes; an edit that does not validate is logged and the
 * previous content stays in use, so a typo never takes groups away.
 */
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyBaseLogger } from 'fastify';
import { isMap, isNode, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { formatPath } from '../../../config/load.js';
import { ConfigError } from '../../../core/errors.js';
import { membershipSchema, userKey } from './membership.js';
import { lookupKeys, type GroupMembership, type GroupSource, type UserKeys } from './source.js';

type Memberships = Map<string, GroupMembership[]>;

/** Reads and validates the file; throws ConfigError with one `file:line:col: …` line per problem. */
export function readGroupFile(file: string, namespace: string): Memberships {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${file}: cannot read the group file: ${(err as Error).message}`]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number | undefined) => {
    if (offset === undefined) return file;
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `${at(e.pos[0])}: YAML syntax: ${e.message.split('\n')[0]}`));
  }
  const schema = z.record(userKey, z.array(membershipSchema(namespace)));
  const parsed = schema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const where = issue.path.length > 0 ? `${formatPath(issue.path)}: ` : '';
        // A bad user key is reported at the key, with the key schema's own message.
        const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
        return `${at(offsetOf(doc, issue.path, issue.code === 'invalid_key'))}: ${where}${message}`;
      }),
    );
  }
  return new Map(Object.entries(parsed.data));
}

/** Where the deepest node that `path` reaches starts (the key itself when `atKey`). */
function offsetOf(doc: Document, path: readonly PropertyKey[], atKey: boolean): number | undefined {
  if (atKey) {
    const parent = path.length > 1 ? doc.getIn(path.slice(0, -1), true) : doc.contents;
    const key = isMap(parent) ? parent.items.find((pair) => isScalar(pair.key) && pair.key.value === path[path.length - 1])?.key : undefined;
    if (isScalar(key)) return key.range?.[0];
  }
  for (let depth = path.length; depth > 0; depth--) {
    const node = doc.getIn(path.slice(0, depth), true);
    if (isNode(node)) return node.range?.[0];
  }
  return doc.contents?.range?.[0];
}

export class YamlGroupSource implements GroupSource {
  private memberships: Memberships;
  private version: string;

  private constructor(
    private readonly file: string,
    private readonly namespace: string,
    private readonly log: FastifyBaseLogger,
    initial: { memberships: Memberships; version: string },
  ) {
    this.memberships = initial.memberships;
    this.version = initial.version;
  }

  /** Loads the file once; a missing or invalid file is a configuration error at start-up. */
  static async load(file: string, namespace: string, log: FastifyBaseLogger): Promise<YamlGroupSource> {
    const version = await fileVersion(file).catch((err: Error) => {
      throw new ConfigError([`${file}: cannot read the group file: ${err.message}`]);
    });
    return new YamlGroupSource(file, namespace, log, { memberships: readGroupFile(file, namespace), version });
  }

  async groupsFor(keys: UserKeys): Promise<GroupMembership[]> {
    await this.reloadIfChanged();
    return lookupKeys(keys).flatMap((key) => this.memberships.get(key) ?? []);
  }

  private async reloadIfChanged(): Promise<void> {
    let version: string;
    try {
      version = await fileVersion(this.file);
    } catch (err) {
      this.keepPrevious(`missing:${(err as Error).message}`, [(err as Error).message]);
      return;
    }
    if (version === this.version) return;
    try {
      this.memberships = readGroupFile(this.file, this.namespace);
      this.version = version;
      this.log.info({ file: this.file, users: this.memberships.size }, 'group file reloaded');
    } catch (err) {
      this.keepPrevious(version, err instanceof ConfigError ? err.problems : [(err as Error).message]);
    }
  }

  /** Logs once per broken version, not once per login. */
  private keepPrevious(version: string, problems: string[]): void {
    if (version === this.version) return;
    this.version = version;
    this.log.error({ file: this.file, problems }, 'group file not reloaded: it has problems; the previous content stays in use');
  }
}

/** Changes whenever the file is rewritten or replaced. */
async function fileVersion(file: string): Promise<string> {
  const s = await stat(file);
  return `${s.ino}:${s.size}:${s.mtimeMs}`;
}
