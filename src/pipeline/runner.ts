/** Runs the configured filters in order; the first that throws denies the login. */
import type { FastifyBaseLogger } from 'fastify';
import type { IdentityPipeline } from '../core/flow.js';
import type { AuthnRequest, Identity } from '../core/model.js';
import type { PipelineStep } from '../config/schema.js';
import type { Filter } from './filter.js';
import { FILTERS } from './registry.js';

export class Pipeline implements IdentityPipeline {
  private readonly filters: { name: string; run: Filter }[];

  constructor(
    steps: PipelineStep[],
    private readonly log: FastifyBaseLogger,
  ) {
    this.filters = steps.map((step) => {
      const definition = FILTERS.get(step.filter);
      // The config schema already refused unknown names; this guards programmatic use.
      if (!definition) throw new Error(`unknown pipeline filter ${step.filter}`);
      return { name: step.filter, run: definition.create(step.options) };
    });
  }

  async run(identity: Identity, request: AuthnRequest): Promise<Identity> {
    let current = identity;
    for (const filter of this.filters) {
      current = await filter.run(current, { request, log: this.log.child({ filter: filter.name }) });
    }
    return current;
  }
}
