/** Every filter an operator can name in `pipeline:`. Adding a filter is adding it here. */
import type { FilterDefinition } from './filter.js';
import { assurance } from './assurance.js';
import { mapAttributes } from './map-attributes.js';
import { rands } from './rands.js';
import { releasePolicy } from './release-policy.js';
import { scopeCheck } from './scope-check.js';
import { communityId } from './community-id.js';
import { entitlements } from './entitlements/filter.js';

export const FILTERS: ReadonlyMap<string, FilterDefinition> = new Map(
  [mapAttributes as unknown as FilterDefinition, scopeCheck as unknown as FilterDefinition, communityId as unknown as FilterDefinition, assurance as unknown as FilterDefinition, rands as unknown as FilterDefinition, releasePolicy as unknown as FilterDefinition, entitlements as unknown as FilterDefinition].map((f) => [f.name, f]),
);
