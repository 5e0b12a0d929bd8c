/**
 * The `entitlements` filter: eduPersonEntitlement as AARC-G069 group values and AARC-G027
 * capabilities. fedgate's own memberships come from a group source (YAML file, or the Store
 * managed through the admin API) for the user's community ID and eppn, spelled out with the
 * hierarchy rules; capabilities are granted per group; upstream values pass only from upstreams
 * trusted for their namespace. Everything leaves G069-normalised and once.
 */
import { GroupSourceUnavailableError } from '../../core/errors.js';
import type { Attributes } from '../../core/model.js';
import { MemoryStore } from '../../store/memory.js';
import { defineFilter, type FilterContext, type FilterServices } from '../filter.js';
import { capabilitiesFor } from './capabilities.js';
import { expandMemberships } from './hierarchy.js';
import { formatLegacy } from './legacy.js';
import { registerGroupAdminApi } from './sources/admin-api.js';
import { RedisGroupSource } from './sources/redis-source.js';
import type { GroupSource, UserKeys } from './sources/source.js';
import { YamlGroupSource } from './sources/yaml-source.js';
import { entitlementOptions, type EntitlementOptions } from './options.js';
import { screenUpstream } from './upstream-trust.js';
import { equivalenceKey, formatEntitlement, type Entitlement, type GroupEntitlement } from './urn.js';

const ATTRIBUTE = 'eduPersonEntitlement';

async function openSource(options: EntitlementOptions, services: FilterServices): Promise<{ name: string; source: GroupSource } | undefined> {
  if (options.source?.type === 'yaml') {
    return { name: `group file ${options.source.file}`, source: await YamlGroupSource.load(options.source.file, options.namespace, services.log) };
  }
  if (options.source?.type === 'redis') {
    const source = new RedisGroupSource(services.store);
    const token = options.source.adminToken;
    services.addRoutes((app) => registerGroupAdminApi(app, { source, token, namespace: options.namespace }));
    if (services.store instanceof MemoryStore) {
      services.log.warn('entitlements: the group source "redis" uses the memory store here; memberships set through /admin/groups are lost at restart and not shared between instances');
    }
    return { name: 'stored groups', source };
  }
  return undefined;
}

function userKeys(attributes: Attributes): UserKeys {
  const communityId = attributes.voPersonID?.[0];
  const eppn = attributes.eduPersonPrincipalName?.[0];
  return { ...(communityId ? { communityId } : {}), ...(eppn ? { eppn } : {}) };
}

/** Values once each by equivalence (the first keeps its authority); opaque strings by exact text. */
function distinct(values: readonly (Entitlement | string)[]): (Entitlement | string)[] {
  const out = new Map<string, Entitlement | string>();
  for (const value of values) {
    const key = typeof value === 'string' ? `opaque ${value}` : equivalenceKey(value);
    if (!out.has(key)) out.set(key, value);
  }
  return [...out.values()];
}

const isGroup = (e: Entitlement | string): e is GroupEntitlement => typeof e !== 'string' && e.kind === 'group';

export const entitlements = defineFilter({
  name: 'entitlements',
  description: 'eduPersonEntitlement: group memberships (AARC-G069) from a group source, capabilities (AARC-G027), trusted upstream values',
  options: entitlementOptions,
  create: async (options, services) => {
    const opened = await openSource(options, services);
    const asOwn = (m: GroupEntitlement): GroupEntitlement => {
      const { authority: _ignored, ...rest } = m;
      return options.authority === undefined ? rest : { ...rest, authority: options.authority };
    };

    async function ownMemberships(attributes: Attributes, context: FilterContext): Promise<GroupEntitlement[]> {
      if (!opened) return [];
      const keys = userKeys(attributes);
      if (keys.communityId === undefined && keys.eppn === undefined) {
        context.explain(`no voPersonID or eduPersonPrincipalName: ${opened.name} not asked`);
        return [];
      }
      try {
        const found = await opened.source.groupsFor(keys);
        context.explain(`${opened.name}: ${found.length} membership(s) for ${[keys.communityId, keys.eppn].filter(Boolean).join(' / ')}`);
        return found;
      } catch (err) {
        const reason = (err as Error).message;
        if (options.onSourceError === 'deny') {
          context.explain(`${opened.name} unavailable (${reason}); onSourceError is deny`);
          throw new GroupSourceUnavailableError(`${opened.name} unavailable: ${reason}`, { cause: err });
        }
        context.log.warn({ err, source: opened.name }, 'group source unavailable; the login continues without group entitlements');
        context.explain(`${opened.name} unavailable (${reason}); continuing without group entitlements (onSourceError: continue)`);
        return [];
      }
    }

    return async (identity, context) => {
      const upstreamValues = identity.attributes[ATTRIBUTE] ?? [];
      const trust = options.upstreamTrust.get(identity.issuer);
      const screened = trust ? screenUpstream(upstreamValues, trust, options.namespace) : undefined;
      if (!trust && upstreamValues.length > 0) {
        context.explain(`${identity.issuer} is not in upstreamTrust: its ${upstreamValues.length} entitlement value(s) were dropped`);
      }
      for (const { value, reason } of screened?.dropped ?? []) context.explain(`dropped upstream value ${value}: ${reason}`);
      for (const { from, to } of screened?.converted ?? []) context.explain(`converted legacy value ${from} to ${formatEntitlement(to)}`);

      const own = expandMemberships((await ownMemberships(identity.attributes, context)).map(asOwn), options.memberRole);
      const upstreamGroups = expandMemberships((screened?.accepted ?? []).filter(isGroup));
      const capabilities = capabilitiesFor([...own, ...upstreamGroups], options.grants);
      if (capabilities.length > 0) context.explain(`capabilities granted by group: ${capabilities.map((c) => formatEntitlement(c)).join(', ')}`);

      const kept = distinct([...own, ...capabilities, ...upstreamGroups, ...(screened?.accepted ?? []), ...(screened?.opaque ?? [])]);
      const values = kept.map((v) => (typeof v === 'string' ? v : formatEntitlement(v)));
      if (options.legacyFormatFor.has(context.service.id)) {
        // The option requires `authority`, so every group value has one to name.
        values.push(...kept.filter(isGroup).map((g) => formatLegacy(g, g.authority ?? options.authority!)));
        context.explain(`${context.service.id} is in legacyFormatFor: each group value is also sent in the legacy EGI form`);
      }
      const { [ATTRIBUTE]: _previous, ...others } = identity.attributes;
      return { ...identity, attributes: values.length > 0 ? { ...others, [ATTRIBUTE]: values } : others };
    };
  },
});
