/** Choosing among indexed metadata endpoints (AssertionConsumerService, DiscoveryResponse). */
import type { Endpoint } from './types.js';

/** The default endpoint: isDefault, else the lowest index, else the first listed. */
export function defaultEndpoint(endpoints: Endpoint[]): Endpoint | undefined {
  const flagged = endpoints.find((e) => e.isDefault);
  if (flagged) return flagged;
  const indexed = endpoints.filter((e) => e.index !== undefined).sort((a, b) => a.index! - b.index!);
  return indexed[0] ?? endpoints[0];
}
