/**
 * `discovery`: the IdP choice page, its search API, the remembered choices, per-service filters and
 * an optional external discovery service.
 */
import { z } from 'zod';

const uris = (what: string) => z.array(z.string().min(1)).default([]).describe(what);

const serviceFilter = z
  .object({
    services: z
      .array(z.string().min(1))
      .min(1)
      .describe('Services this filter applies to: SAML SP entityIDs and OIDC client_ids'),
    requireEntityCategories: uris('Entity categories (http://macedir.org/entity-category) an IdP must have, every one of them'),
    requireEntityCategorySupport: uris(
      'Entity category support (http://macedir.org/entity-category-support) an IdP must declare, every one of them, e.g. http://refeds.org/category/research-and-scholarship',
    ),
    requireAssuranceCertifications: uris('Assurance certifications an IdP must hold, every one of them, e.g. https://refeds.org/sirtfi'),
    registrationAuthorities: uris('When not empty: only IdPs registered by one of these federations (mdrpi registrationAuthority)'),
    includeSocial: z
      .boolean()
      .default(true)
      .describe('Offer social providers (Google, ORCID, GitHub, …) too; the requirements above apply to every other upstream'),
  })
  .strict();

export type ServiceFilter = z.output<typeof serviceFilter>;

function requireOneFilterPerService(filters: ServiceFilter[], ctx: z.RefinementCtx): void {
  const seen = new Map<string, number>();
  filters.forEach((filter, i) => {
    filter.services.forEach((service, j) => {
      const earlier = seen.get(service);
      if (earlier !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'services', j], message: `${service} already has the filter discovery.filters[${earlier}]` });
      seen.set(service, i);
    });
  });
}

export const discoveryConfig = z
  .object({
    cookieName: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, dashes and underscores only')
      .default('fedgate_idp')
      .describe('Cookie remembering the last choices'),
    rememberDays: z.number().int().min(0).default(90).describe('How long the last choices are remembered (0: not at all)'),
    remember: z.number().int().min(1).max(10).default(3).describe('How many recent choices are remembered and offered first'),
    listLimit: z
      .number()
      .int()
      .min(5)
      .max(500)
      .default(50)
      .describe('Most identity providers listed on the page at once; the user searches for the others'),
    filters: z
      .array(serviceFilter)
      .default([])
      .superRefine(requireOneFilterPerService)
      .describe('Per-service filters: which upstreams discovery offers, and accepts, for these services'),
    externalService: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe(
        'An external SAML IdP discovery service (e.g. SeamlessAccess) to send users to instead of the own page; it answers at <baseUrl>/discovery/return, which fedgate’s SP metadata publishes as its DiscoveryResponse. Needs the SAML backend',
      ),
  })
  .strict();

export type DiscoveryConfig = z.output<typeof discoveryConfig>;
