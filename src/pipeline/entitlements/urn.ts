/**
 * The entitlement grammar of spec/entitlements.md: AARC-G069 group URNs (which also reads
 * AARC-G002 values), AARC-G027 capability (`res`) URNs, G069 normalisation and the satisfaction
 * rules of §2. Parsing never decodes %-escapes, so a `:` can only ever be a separator.
 */

export interface GroupEntitlement {
  kind: 'group';
  /** `urn:<nid>:<delegated>[:<subnamespace>]*`, lower-cased. */
  namespace: string;
  /** The group followed by its subgroups, outermost first; never empty. */
  path: string[];
  /** Applies to the rightmost element of `path`. */
  role?: string;
  /** The f-component: mandatory in G002, deprecated in G069, never part of equivalence. */
  authority?: string;
}

export interface Capability {
  kind: 'res';
  namespace: string;
  /** The resource followed by its child resources; never empty. */
  path: string[];
  /** Apply to the rightmost element of `path`; may be empty. */
  actions: string[];
  authority?: string;
}

export type Entitlement = GroupEntitlement | Capability;

export type ParseResult<T = Entitlement> =
  | { ok: true; value: T }
  /** `opaque`: no `:group:` or `:res:` part at all, so not meant as an AARC value (e.g. a URL). */
  | { ok: false; opaque: boolean; reason: string };

/** RFC 8141 NSS characters (pchar and `/`) minus the `:` separator, or a %-escape. */
const COMPONENT = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=@/]|%[0-9A-Fa-f]{2})+$/;
/** An RFC 3986 fragment: pchar, `/` and `?`. */
const AUTHORITY = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=@/:?]|%[0-9A-Fa-f]{2})+$/;
/** RFC 8141 NID. */
const NID = /^[A-Za-z0-9][A-Za-z0-9-]{0,30}[A-Za-z0-9]$/;
/** RFC 8141 r- and q-components, which the reference parser ignores before `:group:`. */
const RQ_COMPONENTS = /^([^?]*)(?:\?\+[^?]+)?(?:\?=.+)?$/;
const ROLE = 'role=';
const ACT = 'act';

const upperEscapes = (s: string) => s.replace(/%[0-9a-f]{2}/gi, (e) => e.toUpperCase());

function componentProblem(what: string, value: string): string | undefined {
  if (value === '') return `empty ${what}`;
  if (!COMPONENT.test(value)) return `${what} "${value}" has a character that must be %-encoded (or a broken %-escape)`;
  return undefined;
}

/**
 * Validates `urn:<nid>:<delegated>[:<sub>]*` and returns it lower-cased (G069 compares the
 * namespace case-insensitively). A `group` or `res` segment is refused: it would end the
 * namespace early when values are parsed.
 */
export function parseNamespace(text: string): { ok: true; value: string } | { ok: false; reason: string } {
  const parts = text.split(':');
  if (parts[0]?.toLowerCase() !== 'urn' || parts.length < 3) return { ok: false, reason: 'a namespace has the form urn:<NID>:<delegated-namespace>[:<subnamespace>]*' };
  if (!NID.test(parts[1] ?? '')) return { ok: false, reason: `"${parts[1]}" is not a URN namespace identifier (RFC 8141 NID)` };
  for (const part of parts.slice(2)) {
    const problem = componentProblem('namespace part', part);
    if (problem) return { ok: false, reason: problem };
    if (part === 'group' || part === 'res') return { ok: false, reason: `a namespace must not contain a "${part}" part` };
  }
  return { ok: true, value: parts.join(':').toLowerCase() };
}

/** A `#authority` value (without the `#`) with its %-escapes normalised, or undefined when it is not one. */
export function parseAuthority(text: string): string | undefined {
  return AUTHORITY.test(text) ? upperEscapes(text) : undefined;
}

/** Parses a G069/G002 group or G027 capability URN into its G069-normalised parts. */
export function parseEntitlement(text: string): ParseResult {
  const hash = text.indexOf('#');
  const body = hash < 0 ? text : text.slice(0, hash);
  const rawAuthority = hash < 0 ? undefined : text.slice(hash + 1);
  const parts = body.split(':');
  const marker = parts.findIndex((p, i) => i >= 3 && (p === 'group' || p === 'res'));
  if (parts[0]?.toLowerCase() !== 'urn' || marker < 0) {
    return { ok: false, opaque: true, reason: 'not an AARC entitlement (no :group: or :res: part)' };
  }
  const fail = (reason: string): ParseResult => ({ ok: false, opaque: false, reason });
  const last = parts[marker - 1]!.match(RQ_COMPONENTS);
  if (!last) return fail('malformed r- or q-component');
  const namespace = parseNamespace([...parts.slice(0, marker - 1), last[1]].join(':'));
  if (!namespace.ok) return fail(namespace.reason);
  const authority = rawAuthority === undefined ? undefined : parseAuthority(rawAuthority);
  if (rawAuthority !== undefined && authority === undefined) {
    return fail(rawAuthority === '' ? 'empty #authority' : `#authority "${rawAuthority}" has a character that must be %-encoded`);
  }
  const rest = parts.slice(marker + 1);
  const optionalAuthority = authority === undefined ? {} : { authority };
  return parts[marker] === 'group'
    ? groupFrom(namespace.value, rest, optionalAuthority, fail)
    : capabilityFrom(namespace.value, rest, optionalAuthority, fail);
}

function groupFrom(
  namespace: string,
  rest: string[],
  authority: { authority?: string },
  fail: (reason: string) => ParseResult,
): ParseResult {
  const roleAt = rest.length - 1;
  const role = rest[roleAt]?.startsWith(ROLE) ? rest[roleAt]!.slice(ROLE.length) : undefined;
  const path = role === undefined ? rest : rest.slice(0, roleAt);
  if (path.length === 0) {
    return fail(role === undefined ? 'no group name after :group:' : 'a group named role=… is ambiguous with a role; encode it as role%3D…');
  }
  for (const [i, name] of path.entries()) {
    const what = i === 0 ? 'group name' : 'subgroup name';
    const problem = componentProblem(what, name);
    if (problem) return fail(problem);
    // Only the last part may be a role; a group named "role=…" must be written role%3D….
    if (name.startsWith(ROLE)) return fail(`${what} "${name}" is ambiguous with a role; encode it as role%3D…`);
  }
  if (role !== undefined) {
    const problem = componentProblem('role', role);
    if (problem) return fail(problem);
  }
  return {
    ok: true,
    value: { kind: 'group', namespace, path: path.map(upperEscapes), ...(role === undefined ? {} : { role: upperEscapes(role) }), ...authority },
  };
}

function capabilityFrom(
  namespace: string,
  rest: string[],
  authority: { authority?: string },
  fail: (reason: string) => ParseResult,
): ParseResult {
  const withActions = rest.length >= 2 && rest[rest.length - 2] === ACT;
  const path = withActions ? rest.slice(0, -2) : rest;
  const actions = withActions ? rest[rest.length - 1]!.split(',') : [];
  if (path.length === 0) return fail('no resource name after :res:');
  for (const [i, name] of path.entries()) {
    const what = i === 0 ? 'resource name' : 'child resource name';
    const problem = componentProblem(what, name);
    if (problem) return fail(problem);
    // A resource literally named "act" would make the action list ambiguous.
    if (name === ACT) return fail(`${what} "act" is ambiguous with the action list (:act:<action>[,<action>]*)`);
  }
  for (const action of actions) {
    const problem = componentProblem('action', action);
    if (problem) return fail(problem);
  }
  return { ok: true, value: { kind: 'res', namespace, path: path.map(upperEscapes), actions: actions.map(upperEscapes), ...authority } };
}

/** The G069-normalised string; `authority: false` gives the form used for equivalence. */
export function formatEntitlement(e: Entitlement, options: { authority?: boolean } = {}): string {
  const tail =
    e.kind === 'group'
      ? (e.role === undefined ? '' : `:${ROLE}${e.role}`)
      : e.actions.length === 0
        ? ''
        : `:${ACT}:${e.actions.join(',')}`;
  const authority = options.authority !== false && e.authority !== undefined ? `#${e.authority}` : '';
  return `${e.namespace}:${e.kind}:${e.path.join(':')}${tail}${authority}`;
}

/** Two values are equivalent when their keys are equal (RFC 8141 §3: the f-component does not count). */
export function equivalenceKey(e: Entitlement): string {
  return formatEntitlement(e, { authority: false });
}

/** The G069-normalised form of an AARC value; anything else is an opaque string and kept as is. */
export function normaliseEntitlement(text: string): string {
  const parsed = parseEntitlement(text);
  return parsed.ok ? formatEntitlement(parsed.value) : text;
}

/**
 * Whether holding `held` implies `required` (spec §2, the semantics of aarc-entitlement):
 * membership of a subgroup implies every ancestor, a role implies membership of its group, and
 * roles are never inherited up or down. The authority is ignored.
 */
export function satisfies(held: GroupEntitlement, required: GroupEntitlement): boolean {
  if (held.namespace !== required.namespace) return false;
  if (required.path.length > held.path.length || !required.path.every((name, i) => held.path[i] === name)) return false;
  if (required.role === undefined) return true;
  return required.role === held.role && required.path.length === held.path.length;
}
