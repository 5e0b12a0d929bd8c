/**
 * The pre-AARC-G002 EGI group form `<namespace>:<authority-fqdn>:[<subgroup>:]*<role>@<vo>`
 * (spec §4; the old specification itself is UNVERIFIED, the grammar is inferred from values EGI
 * released side by side with their G002 equivalents). Read from old upstreams and converted to
 * G069; written only for services configured to still need it.
 */
import { parseEntitlement, type GroupEntitlement } from './urn.js';

export const EGI_NAMESPACE = 'urn:mace:egi.eu';

/** The role a legacy value names for a plain membership (EGI: `member@<vo>` ≙ `…:role=member`). */
const MEMBER_ROLE = 'member';

const FQDN = /^[a-z0-9-]+(?:\.[a-z0-9-]+)+$/i;

/**
 * GOCDB role values (`urn:mace:egi.eu:goc.egi.eu:<key>:<entity>:<role>@egi.eu`) share the shape
 * but name a site role, not a VO: converting them would invent membership of a group "egi.eu".
 * They stay opaque strings.
 */
const NOT_GROUP_AUTHORITIES = new Set(['goc.egi.eu']);

/** The G069 equivalent of a legacy value in one of `namespaces`, or undefined when it is none. */
export function parseLegacy(text: string, namespaces: readonly string[] = [EGI_NAMESPACE]): GroupEntitlement | undefined {
  const namespace = namespaces.find((ns) => text.toLowerCase().startsWith(`${ns}:`));
  if (namespace === undefined) return undefined;
  const parts = text.slice(namespace.length + 1).split(':');
  const [authority] = parts;
  const last = parts[parts.length - 1]!;
  const at = last.lastIndexOf('@');
  if (parts.length < 2 || authority === undefined || !FQDN.test(authority) || NOT_GROUP_AUTHORITIES.has(authority.toLowerCase()) || at < 1) {
    return undefined;
  }
  const role = last.slice(0, at);
  const vo = last.slice(at + 1);
  const subgroups = parts.slice(1, -1).map((s) => `:${s}`).join('');
  const parsed = parseEntitlement(`${namespace}:group:${vo}${subgroups}:role=${role}#${authority.toLowerCase()}`);
  return parsed.ok && parsed.value.kind === 'group' ? parsed.value : undefined;
}

/** The legacy form of `e`, issued by `authority` (the legacy form has no place without one). */
export function formatLegacy(e: GroupEntitlement, authority: string): string {
  const [vo, ...subgroups] = e.path;
  return [e.namespace, authority, ...subgroups, `${e.role ?? MEMBER_ROLE}@${vo}`].join(':');
}
