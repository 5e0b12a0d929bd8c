/**
 * The options of the `entitlements` filter, checked and compiled at configuration time: the
 * namespace, authority, capability grants and upstream trust are parsed with the grammar here, so
 * a typo fails `fedgate check-config` with its key path instead of surfacing at a login.
 */
import { z } from 'zod';
import { secret } from '../../config/schema.js';
import { ConfigError } from '../../core/errors.js';
import type { CapabilityGrant } from './capabilities.js';
import { resolveGroup } from './sources/membership.js';
import { readGroupFile } from './sources/yaml-source.js';
import { normalisePrefix, type UpstreamTrust } from './upstream-trust.js';
import { parseAuthority, parseEntitlement, parseNamespace, type Capability } from './urn.js';

const trustEntry = z
  .union(
    [
      z.array(z.string().min(1)),
      z
        .object({
          namespaces: z.array(z.string().min(1)).default([]).describe('Namespaces or group/resource prefixes this upstream may assert'),
          allowOpaque: z.boolean().default(false).describe('Also pass values that are not AARC URNs (e.g. URLs, urn:mace:dir:entitlement:…)'),
        })
        .strict(),
    ],
    { error: 'a list of namespace prefixes, or { namespaces, allowOpaque }' },
  )
  .transform((entry, ctx): UpstreamTrust => {
    const { namespaces, allowOpaque } = Array.isArray(entry) ? { namespaces: entry, allowOpaque: false } : entry;
    const prefixes: string[] = [];
    for (const [i, text] of namespaces.entries()) {
      const prefix = normalisePrefix(text);
      if (prefix.ok) prefixes.push(prefix.value);
      else ctx.addIssue({ code: 'custom', path: Array.isArray(entry) ? [i] : ['namespaces', i], message: prefix.reason });
    }
    return { prefixes, allowOpaque };
  });

const source = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('yaml'),
      file: z.string().min(1).describe('YAML file: community ID or eppn → list of memberships; read again when it changes'),
    })
    .strict(),
  z
    .object({
      type: z.literal('redis'),
      // Lazy: config/schema.ts imports the filter registry, so `secret` is not yet initialised while this module loads.
      adminToken: z.lazy(() => secret.pipe(z.string().min(16, 'use an admin token of at least 16 characters'))).describe('Bearer token of the /admin/groups API (inline, { env } or { file })'),
    })
    .strict()
    .describe('Memberships kept in the configured store (Redis), managed through PUT/GET/DELETE /admin/groups/:userKey'),
]);

const rawOptions = z
  .object({
    namespace: z.string().describe('fedgate’s community namespace, urn:<NID>:<delegated>[:<sub>]*, e.g. urn:geant:example.org'),
    authority: z.string().optional().describe('Appended as #<authority> to fedgate’s own values (deprecated in AARC-G069; set it only for services that still need it)'),
    memberRole: z
      .string()
      .regex(/^[A-Za-z0-9\-._~]+$/, 'a plain role name, e.g. member')
      .optional()
      .describe('Spell fedgate’s memberships as `…:role=<memberRole>` (EGI: member) instead of plain group values'),
    source: source.optional().describe('Where fedgate’s own group memberships come from'),
    onSourceError: z
      .enum(['continue', 'deny'])
      .default('continue')
      .describe('When the source does not answer: continue without group entitlements (logged), or deny the login (503)'),
    capabilities: z
      .record(z.string(), z.array(z.string().min(1)))
      .default({})
      .describe('Group (path in the namespace or full URN) → AARC-G027 capabilities (res:<resource>[:<child>]*[:act:<action>,…] or full URNs) its holders get'),
    upstreamTrust: z
      .record(z.string(), trustEntry)
      .default({})
      .describe('Upstream IdP entityID / OP issuer → the namespaces whose entitlement values it may assert; values from any other upstream are dropped'),
    legacyFormatFor: z
      .array(z.string().min(1))
      .default([])
      .describe('Services (SP entityID or client_id) that also get each group value in the pre-AARC-G002 EGI form <namespace>:<authority>:[<subgroup>:]*<role>@<group>'),
  })
  .strict();

type RawOptions = z.output<typeof rawOptions>;

export interface EntitlementOptions {
  namespace: string;
  authority?: string;
  memberRole?: string;
  source?: RawOptions['source'];
  onSourceError: 'continue' | 'deny';
  grants: CapabilityGrant[];
  upstreamTrust: Map<string, UpstreamTrust>;
  legacyFormatFor: Set<string>;
}

/** A capability as configured: `res:…` inside the namespace or a full URN; it must end up with an authority (G027). */
function resolveCapability(text: string, namespace: string, authority: string | undefined): { ok: true; value: Capability } | { ok: false; reason: string } {
  if (!/^(?:res:|urn:)/i.test(text)) return { ok: false, reason: `"${text}": write res:<resource>[:<child>]*[:act:<action>,…] or a full capability URN` };
  const parsed = parseEntitlement(/^res:/i.test(text) ? `${namespace}:${text}` : text);
  if (!parsed.ok) return { ok: false, reason: `"${text}": ${parsed.reason}` };
  if (parsed.value.kind !== 'res') return { ok: false, reason: `"${text}" is a group value, not a capability` };
  const capabilityAuthority = parsed.value.authority ?? authority;
  if (capabilityAuthority === undefined) {
    return { ok: false, reason: `"${text}": AARC-G027 capabilities carry a mandatory authority: set \`authority\` or end the URN with #<authority>` };
  }
  return { ok: true, value: { ...parsed.value, authority: capabilityAuthority } };
}

export const entitlementOptions = rawOptions.transform((raw, ctx): EntitlementOptions => {
  const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const namespace = parseNamespace(raw.namespace);
  if (!namespace.ok) {
    issue(['namespace'], namespace.reason);
    return z.NEVER;
  }
  const authority = raw.authority === undefined ? undefined : parseAuthority(raw.authority);
  if (raw.authority !== undefined && authority === undefined) issue(['authority'], 'not a valid URN f-component (characters outside RFC 3986 must be %-encoded)');
  if (raw.legacyFormatFor.length > 0 && authority === undefined) issue(['legacyFormatFor'], 'the legacy form names an authority: set `authority`');

  const grants: CapabilityGrant[] = [];
  for (const [group, texts] of Object.entries(raw.capabilities)) {
    const requires = resolveGroup(group, namespace.value);
    if (!requires.ok) issue(['capabilities', group], requires.reason);
    const capabilities: Capability[] = [];
    for (const [i, text] of texts.entries()) {
      const capability = resolveCapability(text, namespace.value, authority);
      if (capability.ok) capabilities.push(capability.value);
      else issue(['capabilities', group, i], capability.reason);
    }
    if (requires.ok) grants.push({ requires: requires.value, capabilities });
  }

  // Checked here too, so `fedgate check-config` reports a broken group file with its lines.
  if (raw.source?.type === 'yaml') {
    try {
      readGroupFile(raw.source.file, namespace.value);
    } catch (err) {
      for (const problem of err instanceof ConfigError ? err.problems : [(err as Error).message]) issue(['source', 'file'], problem);
    }
  }
  return {
    namespace: namespace.value,
    ...(authority === undefined ? {} : { authority }),
    ...(raw.memberRole === undefined ? {} : { memberRole: raw.memberRole }),
    ...(raw.source === undefined ? {} : { source: raw.source }),
    onSourceError: raw.onSourceError,
    grants,
    upstreamTrust: new Map(Object.entries(raw.upstreamTrust)),
    legacyFormatFor: new Set(raw.legacyFormatFor),
  };
});
