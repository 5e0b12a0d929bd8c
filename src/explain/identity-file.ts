/**
 * The identity `fedgate explain` runs through the pipeline: a full Identity (src/core/model.ts)
 * as JSON, or the short form `{ issuer, attributes, subject?, authn? }` with the rest filled in.
 * Attribute names are internal names; SAML names (urn:oid:…) as copied from a SAML trace are
 * accepted and translated through the attribute table.
 */
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { formatPath } from '../config/load.js';
import { fromSamlName } from '../core/attributes.js';
import { UsageError } from '../core/errors.js';
import type { Attributes, Identity } from '../core/model.js';
import type { UpstreamRegistration } from '../core/registration.js';

/** Stands in for the upstream subject when the file names none. */
export const PLACEHOLDER_SUBJECT = 'fedgate-explain';

const values = z.union([z.string(), z.array(z.string())]).transform((v) => (typeof v === 'string' ? [v] : v));

const identityFile = z
  .object({
    issuer: z.string().min(1).optional(),
    protocol: z.enum(['saml', 'oidc', 'oauth2']).optional(),
    subject: z
      .union([
        z
          .string()
          .min(1)
          .transform((id) => ({ id })),
        z
          .object({
            id: z.string().min(1),
            format: z.string().optional(),
            nameQualifier: z.string().optional(),
            spNameQualifier: z.string().optional(),
          })
          .strict(),
      ])
      .optional(),
    attributes: z.record(z.string().min(1), values).default({}),
    authn: z
      .object({
        instant: z.iso.datetime({ offset: true }).optional(),
        contextClassRefs: values.optional(),
        sessionIndex: z.string().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type IdentityFile = z.output<typeof identityFile>;

export function readIdentityFile(path: string): IdentityFile {
  if (!existsSync(path)) throw new UsageError(`${path}: identity file not found`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`${path}: not JSON: ${(err as Error).message}`);
  }
  const parsed = identityFile.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
    throw new UsageError(`${path}: not an identity: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** The Identity the backends would have produced, with what the file leaves out filled in. */
export function toIdentity(file: IdentityFile, issuer: string, upstream: UpstreamRegistration | undefined): Identity {
  const attributes: Attributes = {};
  for (const [name, list] of Object.entries(file.attributes)) {
    const internal = fromSamlName(name)?.name ?? name;
    attributes[internal] = [...new Set([...(attributes[internal] ?? []), ...list])];
  }
  return {
    issuer,
    protocol: file.protocol ?? upstream?.protocol ?? 'saml',
    subject: file.subject ?? { id: PLACEHOLDER_SUBJECT },
    attributes,
    authn: {
      instant: file.authn?.instant ?? new Date().toISOString(),
      contextClassRefs: file.authn?.contextClassRefs ?? [],
      ...(file.authn?.sessionIndex ? { sessionIndex: file.authn.sessionIndex } : {}),
    },
  };
}
