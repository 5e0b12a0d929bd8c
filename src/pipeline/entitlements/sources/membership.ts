/**
 * How an operator writes a membership, in the YAML file and the admin API alike: a full group URN
 * (`urn:geant:example.org:group:vo:sub:role=admin`), a path in the filter's namespace
 * (`vo:sub:role=admin`), or `{ group: 'vo:sub', role: 'admin' }`. Every form goes through the
 * G069 grammar, so what is stored is always a valid value.
 */
import { z } from 'zod';
import { parseEntitlement, type GroupEntitlement } from '../urn.js';

/** `text` as a group value: a full URN as is, anything else as a group path inside `namespace`. */
export function resolveGroup(text: string, namespace: string): { ok: true; value: GroupEntitlement } | { ok: false; reason: string } {
  const full = /^urn:/i.test(text);
  const parsed = parseEntitlement(full ? text : `${namespace}:group:${text}`);
  if (!parsed.ok) return { ok: false, reason: `"${text}": ${parsed.reason}` };
  if (parsed.value.kind !== 'group') {
    return { ok: false, reason: `"${text}" is a capability; capabilities are granted per group in the filter's \`capabilities\` option` };
  }
  return { ok: true, value: parsed.value };
}

export function membershipSchema(namespace: string) {
  return z
    .union(
      [z.string().min(1), z.object({ group: z.string().min(1, 'empty group'), role: z.string().min(1, 'empty role').optional() }).strict()],
      { error: 'a membership is a group URN, a group path in the namespace, or { group, role }' },
    )
    .transform((entry, ctx): GroupEntitlement => {
      const text = typeof entry === 'string' ? entry : entry.role === undefined ? entry.group : `${entry.group}:role=${entry.role}`;
      const resolved = resolveGroup(text, namespace);
      if (!resolved.ok) {
        ctx.addIssue({ code: 'custom', message: resolved.reason });
        return z.NEVER;
      }
      return resolved.value;
    });
}

/** A user key as the sources file them: a community ID or an eppn. */
export const userKey = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\s\p{Cc}]+$/u, 'a user key (community ID or eppn) has no spaces or control characters');
