/**
 * How fedgate treats one downstream SP: taken from the configured source its metadata came from
 * (frontends.saml.sps[i]); SPs from other sources, such as the demo's, get the defaults.
 */
import { NAMEID_FORMAT, type Config, type NameIdFormatName } from '../../config/schema.js';
import type { EntityRecord } from '../../metadata/types.js';

export interface SpOptions {
  encryptAssertion: boolean;
  signResponse: boolean;
  /** Always true when the Response is unsigned or the SP's metadata sets WantAssertionsSigned. */
  signAssertion: boolean;
  requireSignedRequests: boolean;
  /** NameID Format URIs the SP may get; the first when its request names none. */
  nameIdFormats: string[];
}

const DEFAULT_FORMATS: NameIdFormatName[] = ['transient', 'persistent'];

export function spOptions(config: Config, sp: EntityRecord): SpOptions {
  const saml = config.frontends.saml;
  const source = saml.sps.find((s) => s.metadata === sp.source);
  const signResponse = source?.signResponse ?? saml.signResponse;
  return {
    encryptAssertion: source?.encryptAssertion ?? false,
    signResponse,
    // Something must be signed, and an SP that says it wants signed assertions gets them.
    signAssertion: (source?.signAssertion ?? saml.signAssertion) || !signResponse || sp.sp?.wantAssertionsSigned === true,
    requireSignedRequests: source?.requireSignedRequests ?? false,
    nameIdFormats: (source?.nameIdFormats ?? DEFAULT_FORMATS).map((f) => NAMEID_FORMAT[f]),
  };
}
