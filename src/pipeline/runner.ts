/**
 * Runs the configured filters in order; the first that throws denies the login. When explaining,
 * it records for every filter what it added and removed and the reasons the filter gave, so an
 * operator can answer "why did service X not get attribute Y?" from one log line.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { IdentityPipeline, PipelineInput } from '../core/flow.js';
import type { Attributes, Identity } from '../core/model.js';
import type { PipelineStep } from '../config/schema.js';
import type { Filter, FilterServices } from './filter.js';
import { FILTERS } from './registry.js';

export interface FilterTrace {
  filter: string;
  added: Attributes;
  removed: Attributes;
  /** AuthnContextClassRefs before and after, when the filter changed them. */
  authnContext?: { before: string[]; after: string[] };
  notes: string[];
}

export interface PipelineTrace {
  service: string;
  upstream: string;
  steps: FilterTrace[];
  released: Attributes;
}

/** Values in `a` that `b` lacks, by attribute name. */
function difference(a: Attributes, b: Attributes): Attributes {
  const out: Attributes = {};
  for (const [name, values] of Object.entries(a)) {
    const other = new Set(b[name] ?? []);
    const missing = values.filter((v) => !other.has(v));
    if (missing.length > 0) out[name] = missing;
  }
  return out;
}

const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((v, i) => v === b[i]);

export class Pipeline implements IdentityPipeline {
  private constructor(
    /** Each with its child logger, made once: a pino child per filter and login showed in profiles. */
    private readonly filters: { name: string; run: Filter; log: FastifyBaseLogger }[],
    private readonly log: FastifyBaseLogger,
    private readonly explainAll: boolean,
  ) {}

  static async create(steps: PipelineStep[], services: FilterServices, options: { explain: boolean }): Promise<Pipeline> {
    const filters = [];
    for (const step of steps) {
      const definition = FILTERS.get(step.filter);
      // The config schema already refused unknown names; this guards programmatic use.
      if (!definition) throw new Error(`unknown pipeline filter ${step.filter}`);
      filters.push({ name: step.filter, run: await definition.create(step.options, services), log: services.log.child({ filter: step.filter }) });
    }
    return new Pipeline(filters, services.log, options.explain);
  }

  async run(identity: Identity, input: PipelineInput): Promise<Identity> {
    if (!this.explainAll) return (await this.execute(identity, input, undefined)).identity;
    const result = await this.explain(identity, input);
    this.log.info({ explain: result.trace }, 'pipeline explained');
    if (result.error) throw result.error;
    return result.identity;
  }

  /** Runs the pipeline and returns the trace of what each filter did, also when it denies. */
  async explain(identity: Identity, input: PipelineInput): Promise<{ identity: Identity; trace: PipelineTrace; error?: unknown }> {
    const steps: FilterTrace[] = [];
    const { identity: released, error } = await this.execute(identity, input, steps);
    return {
      identity: released,
      trace: { service: input.service.id, upstream: identity.issuer, steps, released: released.attributes },
      ...(error ? { error } : {}),
    };
  }

  private async execute(identity: Identity, input: PipelineInput, steps: FilterTrace[] | undefined): Promise<{ identity: Identity; error?: unknown }> {
    let current = identity;
    for (const filter of this.filters) {
      const notes: string[] = [];
      const context = {
        ...input,
        log: filter.log,
        explain: steps ? (note: string) => notes.push(note) : () => {},
      };
      let next: Identity;
      try {
        next = await filter.run(current, context);
      } catch (error) {
        if (!steps) throw error;
        steps.push({ filter: filter.name, added: {}, removed: {}, notes: [...notes, `denied: ${(error as Error).message}`] });
        return { identity: current, error };
      }
      if (steps) {
        const before = current.authn.contextClassRefs;
        const after = next.authn.contextClassRefs;
        steps.push({
          filter: filter.name,
          added: difference(next.attributes, current.attributes),
          removed: difference(current.attributes, next.attributes),
          ...(sameList(before, after) ? {} : { authnContext: { before, after } }),
          notes,
        });
      }
      current = next;
    }
    return { identity: current };
  }
}
