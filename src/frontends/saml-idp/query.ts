/**
 * The query string of an HTTP-Redirect binding message, read from the raw URL: a Redirect
 * signature covers the parameters exactly as the sender encoded them (SAML bindings §3.4.4.1),
 * and a re-encoding of decoded values may differ from that.
 */
import { MalformedRequestError } from '../../core/errors.js';

const BINDING_PARAMS = ['SAMLRequest', 'RelayState', 'SigAlg', 'Signature', 'idphint'] as const;
type BindingParam = (typeof BINDING_PARAMS)[number];

export interface RedirectQuery {
  SAMLRequest?: string;
  RelayState?: string;
  SigAlg?: string;
  Signature?: string;
  /** `SAMLRequest=…[&RelayState=…]&SigAlg=…` as received, when the message is signed. */
  signedOctets?: string;
  /** AARC-G061 IdP hint, decoded once (its comma-separated items are URL-encoded again). */
  idphint?: string;
}

function decodeComponent(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw new MalformedRequestError('query string has a malformed percent-encoding');
  }
}

/** `rawUrl` is the request target as received, e.g. `/saml/idp/sso?SAMLRequest=…`. */
export function parseRedirectQuery(rawUrl: string): RedirectQuery {
  const q = rawUrl.indexOf('?');
  const query = q < 0 ? '' : rawUrl.slice(q + 1).replace(/#.*$/, '');
  const raw = new Map<BindingParam, string>();
  const out: RedirectQuery = {};
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decodeComponent(eq < 0 ? part : part.slice(0, eq));
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    if ((BINDING_PARAMS as readonly string[]).includes(name)) {
      const param = name as BindingParam;
      if (raw.has(param)) throw new MalformedRequestError(`query parameter ${param} appears more than once`);
      raw.set(param, rawValue);
      out[param] = decodeComponent(rawValue);
    }
  }
  if (raw.has('SigAlg') && raw.has('SAMLRequest')) {
    out.signedOctets = [
      `SAMLRequest=${raw.get('SAMLRequest')}`,
      ...(raw.has('RelayState') ? [`RelayState=${raw.get('RelayState')}`] : []),
      `SigAlg=${raw.get('SigAlg')}`,
    ].join('&');
  }
  return out;
}

/**
 * The upstreams named by an AARC-G061 `idphint`: a comma-separated list whose items are
 * URL-encoded once more. Items that do not decode are dropped; the flow honours only known ones.
 */
export function parseIdpHint(value: string | undefined): string[] {
  if (!value) return [];
  const hints: string[] = [];
  for (const item of value.split(',')) {
    try {
      const hint = decodeURIComponent(item).trim();
      if (hint) hints.push(hint);
    } catch {
      // not a valid encoding: cannot name a known upstream
    }
  }
  return hints;
}
