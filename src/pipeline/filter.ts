/**
 * A pipeline filter turns the upstream identity into what the service may see, one concern per
 * filter. Filters are registered by name and configured as an ordered list; each validates its
 * own options with a zod schema.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { PipelineInput } from '../core/flow.js';
import type { Identity } from '../core/model.js';
import type { Store } from '../store/store.js';

export interface FilterContext extends PipelineInput {
  log: FastifyBaseLogger;
  /**
   * Records why the filter did what it did, for `logging.explain` and `fedgate explain`. What it
   * added and removed is recorded by the runner; this is for the reason ("scope x.org not in
   * metadata of idp …"). Cheap when explaining is off. A note about one attribute that starts
   * with its name ("mail: not requested by the service") or quotes the value is shown by
   * `fedgate explain` beside that attribute's line.
   */
  explain(note: string): void;
}

/** May return a changed copy of the identity, or deny the login by throwing a FedgateError. */
export type Filter = (identity: Identity, context: FilterContext) => Identity | Promise<Identity>;

/** What a filter may use besides its options. */
export interface FilterServices {
  store: Store;
  /** The deployment's secret salt for identifiers (secrets.identifierSalt). */
  identifierSalt: string;
  baseUrl: string;
  log: FastifyBaseLogger;
  /** Adds HTTP routes (e.g. an admin API) to the server; called before it starts listening. */
  addRoutes(register: (app: FastifyInstance) => void): void;
}

export interface FilterDefinition<Options extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  options: Options;
  create(options: z.output<Options>, services: FilterServices): Filter | Promise<Filter>;
}

export function defineFilter<Options extends z.ZodType>(definition: FilterDefinition<Options>): FilterDefinition<Options> {
  return definition;
}
