/**
 * Renames, drops or keeps attributes by internal name: the simplest filter, and the one that lets
 * an operator adjust a release without code.
 */
import { z } from 'zod';
import type { Attributes } from '../core/model.js';
import { defineFilter } from './filter.js';

export const mapAttributes = defineFilter({
  name: 'map-attributes',
  description: 'Rename, drop or keep attributes by internal name',
  options: z
    .object({
      rename: z
        .record(z.string(), z.string().min(1))
        .default({})
        .describe('from → to; values of `from` are added to `to` and `from` is removed'),
      drop: z.array(z.string()).default([]).describe('Attributes removed (after renaming)'),
      keep: z.array(z.string()).optional().describe('When given, only these attributes pass (after renaming)'),
    })
    .strict(),
  create: ({ rename, drop, keep }) => {
    const dropped = new Set(drop);
    const kept = keep ? new Set(keep) : undefined;
    return (identity) => {
      const attributes: Attributes = {};
      for (const [name, values] of Object.entries(identity.attributes)) {
        const target = rename[name] ?? name;
        if (dropped.has(target) || (kept && !kept.has(target))) continue;
        attributes[target] = [...new Set([...(attributes[target] ?? []), ...values])];
      }
      return { ...identity, attributes };
    };
  },
});
