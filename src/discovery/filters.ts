/**
 * Per-service discovery filters (discovery.filters): which upstreams a service is offered and
 * accepts from discovery, by what verified metadata says about them. Social providers carry no
 * metadata; `includeSocial` decides about them.
 */
import { ENTITY_ATTRIBUTE, type UpstreamRegistration } from '../core/registration.js';
import type { ServiceFilter } from './config.js';

export type { ServiceFilter };

const hasAll = (values: string[] | undefined, required: string[]) => required.every((r) => values?.includes(r) ?? false);

export function allows(filter: ServiceFilter, upstream: UpstreamRegistration): boolean {
  if (upstream.social) return filter.includeSocial;
  const attributes = upstream.entityAttributes;
  return (
    hasAll(attributes[ENTITY_ATTRIBUTE.category], filter.requireEntityCategories) &&
    hasAll(attributes[ENTITY_ATTRIBUTE.categorySupport], filter.requireEntityCategorySupport) &&
    hasAll(attributes[ENTITY_ATTRIBUTE.assuranceCertification], filter.requireAssuranceCertifications) &&
    (filter.registrationAuthorities.length === 0 ||
      (upstream.registrationAuthority !== undefined && filter.registrationAuthorities.includes(upstream.registrationAuthority)))
  );
}

/** The configured filters by service id. */
export class ServiceFilters {
  private readonly byService = new Map<string, ServiceFilter>();

  constructor(filters: ServiceFilter[]) {
    for (const filter of filters) for (const service of filter.services) this.byService.set(service, filter);
  }

  /** The filter of `service` (SP entityID or client_id), if it has one. */
  for(service: string): ServiceFilter | undefined {
    return this.byService.get(service);
  }
}
