/** Every filter an operator can name in `pipeline:`. Adding a filter is adding it here. */
import type { FilterDefinition } from './filter.js';
import { mapAttributes } from './map-attributes.js';

export const FILTERS: ReadonlyMap<string, FilterDefinition> = new Map(
  [mapAttributes as unknown as FilterDefinition].map((f) => [f.name, f]),
);
