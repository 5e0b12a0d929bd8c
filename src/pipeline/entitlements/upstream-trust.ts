/**
 * Which entitlement values an upstream may assert (spec §5): only an upstream configured as
 * trusted, and only inside the namespaces (or group/resource prefixes) configured for it. Values
 * in fedgate's own namespace need a prefix at or inside that namespace, so a broad prefix such as
 * `urn:geant` never lets an eduGAIN IdP inject fedgate's own groups. Non-AARC values pass only
 * where `allowOpaque` is set; legacy EGI values are converted to G069 first.
 */
import { parseLegacy } from './legacy.js';
import { equivalenceKey, parseEntitlement, parseNamespace, type Entitlement } from './urn.js';

export interface UpstreamTrust {
  /** Normalised: a namespace (`urn:mace:egi.eu`) or a longer prefix (`urn:mace:egi.eu:group:vo.example.org`). */
  prefixes: string[];
  allowOpaque: boolean;
}

export interface Screened {
  accepted: Entitlement[];
  opaque: string[];
  /** Why each refused value was refused, for explain. */
  dropped: { value: string; reason: string }[];
  converted: { from: string; to: Entitlement }[];
}

const ESCAPE = /%[0-9a-f]{2}/gi;

/** A configured prefix in the form values are compared in: the namespace lower-cased, %-escapes upper-case. */
export function normalisePrefix(text: string): { ok: true; value: string } | { ok: false; reason: string } {
  const parts = text.split(':');
  const marker = parts.findIndex((p, i) => i >= 3 && (p === 'group' || p === 'res'));
  const namespace = parseNamespace(parts.slice(0, marker < 0 ? parts.length : marker).join(':'));
  if (!namespace.ok) return namespace;
  const rest = marker < 0 ? [] : parts.slice(marker);
  if (rest.some((p) => p === '' || /[#?\s]/.test(p))) return { ok: false, reason: `"${text}" is not a namespace or a group/resource prefix` };
  return { ok: true, value: [namespace.value, ...rest.map((p) => p.replace(ESCAPE, (e) => e.toUpperCase()))].join(':') };
}

/** Whether `value` is `prefix` or lies below it, segment-wise (`urn:a:b` does not cover `urn:a:bc`). */
export function within(value: string, prefix: string): boolean {
  return value === prefix || value.startsWith(`${prefix}:`);
}

export function screenUpstream(values: readonly string[], trust: UpstreamTrust, ownNamespace: string): Screened {
  const out: Screened = { accepted: [], opaque: [], dropped: [], converted: [] };
  const allowed = (key: string) => trust.prefixes.some((p) => within(key, p) && (!within(key, ownNamespace) || within(p, ownNamespace)));
  for (const value of values) {
    const parsed = parseEntitlement(value);
    if (!parsed.ok && !parsed.opaque) {
      out.dropped.push({ value, reason: `malformed: ${parsed.reason}` });
      continue;
    }
    const legacy = parsed.ok ? undefined : parseLegacy(value);
    const entitlement = parsed.ok ? parsed.value : legacy;
    if (entitlement === undefined) {
      if (!trust.allowOpaque) out.dropped.push({ value, reason: 'not an AARC value, and allowOpaque is not set for this upstream' });
      else if (within(value.toLowerCase(), ownNamespace) && !allowed(value.toLowerCase())) out.dropped.push({ value, reason: 'looks like a value in fedgate’s own namespace' });
      else out.opaque.push(value);
      continue;
    }
    const key = equivalenceKey(entitlement);
    if (!allowed(key)) {
      const why = within(key, ownNamespace) ? 'in fedgate’s own namespace' : 'outside the namespaces allowed for this upstream';
      out.dropped.push({ value, reason: why });
      continue;
    }
    if (legacy) out.converted.push({ from: value, to: legacy });
    out.accepted.push(entitlement);
  }
  return out;
}
