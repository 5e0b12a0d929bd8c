/**
 * A pipeline filter turns the upstream identity into what the service may see, one concern per
 * filter. Filters are registered by name and configured as an ordered list; each validates its
 * own options with a zod schema.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { z } from 'zod';
import type { AuthnRequest, Identity } from '../core/model.js';

export interface FilterContext {
  request: AuthnRequest;
  log: FastifyBaseLogger;
}

/** May return a changed copy of the identity, or deny the login by throwing a FedgateError. */
export type Filter = (identity: Identity, context: FilterContext) => Identity | Promise<Identity>;

export interface FilterDefinition<Options extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  options: Options;
  create(options: z.output<Options>): Filter;
}

export function defineFilter<Options extends z.ZodType>(definition: FilterDefinition<Options>): FilterDefinition<Options> {
  return definition;
}
