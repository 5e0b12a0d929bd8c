/**
 * Which assurance statements fedgate accepts from an upstream (spec/assurance.md §5 rules 1 and 3):
 * none, unless configuration trusts that upstream, by its own identifier or by the federation that
 * registered it, and then only the values, prefixes and authentication contexts the matching
 * trust entries list.
 */
import { z } from 'zod';
import { ENTITY_ATTRIBUTE, type UpstreamRegistration } from '../core/registration.js';
import { PASSABLE_RAF_VALUES, RAF, SIRTFI_VALUES } from './assurance-vocabulary.js';

export const trustEntrySchema = z
  .object({
    upstreams: z.array(z.string().min(1)).default([]).describe('IdP entityIDs and OIDC issuers this entry trusts'),
    registrationAuthorities: z
      .array(z.string().min(1))
      .default([])
      .describe('Trust every IdP whose verified metadata names one of these registrationAuthority values'),
    requireSirtfi: z
      .boolean()
      .default(false)
      .describe('Only when the upstream metadata carries the Sirtfi assurance-certification (https://refeds.org/sirtfi or …/sirtfi2)'),
    requireConformance: z
      .boolean()
      .default(true)
      .describe('RAF values pass only when the upstream also asserts https://refeds.org/assurance itself in this login'),
    raf: z
      .array(z.enum(PASSABLE_RAF_VALUES))
      .default([...PASSABLE_RAF_VALUES])
      .describe('RAF values that pass from these upstreams (profiles never pass: they are recomputed)'),
    otherPrefixes: z
      .array(z.string().min(1))
      .default([])
      .describe('Non-RAF assurance values (IGTF, AARC, EGI LoA, …) pass when they start with one of these'),
    authnContexts: z
      .array(z.string().min(1))
      .default([])
      .describe('AuthnContextClassRef / acr values honoured from these upstreams, e.g. https://refeds.org/profile/mfa'),
  })
  .strict()
  .refine((entry) => entry.upstreams.length + entry.registrationAuthorities.length > 0, {
    message: 'name at least one of upstreams or registrationAuthorities',
  });

export type TrustEntry = z.output<typeof trustEntrySchema>;

/** What one login's upstream is trusted to assert. */
export interface UpstreamTrust {
  /** Some trust entry matched the upstream (and its Sirtfi requirement held). */
  trusted: boolean;
  raf: ReadonlySet<string>;
  otherPrefixes: readonly string[];
  authnContexts: ReadonlySet<string>;
  /** Why entries did or did not apply, for explain. */
  notes: string[];
}

function names(entry: TrustEntry, upstream: UpstreamRegistration): string | undefined {
  if (entry.upstreams.includes(upstream.id)) return `upstream ${upstream.id}`;
  const authority = upstream.registrationAuthority;
  if (authority !== undefined && entry.registrationAuthorities.includes(authority)) return `registrationAuthority ${authority}`;
  return undefined;
}

const isSirtfi = (upstream: UpstreamRegistration) =>
  (upstream.entityAttributes[ENTITY_ATTRIBUTE.assuranceCertification] ?? []).some((v) => SIRTFI_VALUES.includes(v));

/** `asserted` are the upstream's assurance values of this login (after fixing misspellings). */
export function trustOf(upstream: UpstreamRegistration | undefined, asserted: ReadonlySet<string>, entries: readonly TrustEntry[]): UpstreamTrust {
  const raf = new Set<string>();
  const otherPrefixes: string[] = [];
  const authnContexts = new Set<string>();
  const notes: string[] = [];
  let trusted = false;
  if (!upstream) return { trusted, raf, otherPrefixes, authnContexts, notes: ['upstream no longer configured: nothing it asserted is trusted'] };
  entries.forEach((entry, index) => {
    const by = names(entry, upstream);
    if (!by) return;
    if (entry.requireSirtfi && !isSirtfi(upstream)) {
      notes.push(`trust[${index}] names ${by} but requires Sirtfi, which its metadata does not carry`);
      return;
    }
    trusted = true;
    if (entry.requireConformance && !asserted.has(RAF.conformance)) {
      notes.push(`trust[${index}] names ${by}, but the upstream did not assert ${RAF.conformance} itself: its RAF values do not pass`);
    } else {
      for (const value of entry.raf) raf.add(value);
    }
    otherPrefixes.push(...entry.otherPrefixes);
    for (const context of entry.authnContexts) authnContexts.add(context);
  });
  return { trusted, raf, otherPrefixes, authnContexts, notes };
}
