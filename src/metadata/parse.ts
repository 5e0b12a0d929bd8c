/**
 * SAML metadata → compact EntityRecords, in one streaming pass (saxes): only one EntityDescriptor
 * at a time is held as a small element tree, so an aggregate of 100 MB never becomes a DOM.
 * The caller decides what to trust: hand this only a verified document (or a trusted local file).
 */
import { isIP } from 'node:net';
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { InvalidMetadataError } from '../core/errors.js';
import { pemFromBase64 } from '../crypto/pem.js';
import { NS, SAML2_PROTOCOL } from './namespaces.js';
import type {
  DiscoHints,
  Endpoint,
  EntityKey,
  EntityRecord,
  IdpRole,
  Localized,
  RequestedAttribute,
  Scope,
  SpRole,
  UiInfo,
} from './types.js';
import { earliest, isExpired } from './validity.js';

export interface ParsedMetadata {
  records: EntityRecord[];
  /** validUntil of the root element. */
  validUntil?: Date;
  /** cacheDuration of the root element, in milliseconds. */
  cacheDurationMs?: number;
  rootName: 'EntityDescriptor' | 'EntitiesDescriptor';
  /** ds:Signature children of the root: a verified document must have exactly one. */
  rootSignatures: number;
}

export interface ParseOptions {
  /** The instant expiry is judged against; default now. */
  now?: Date;
  /** Told about every entity (or group of entities) left out, and why. */
  onSkip?: (reason: string, entityId?: string) => void;
  /**
   * Given each record as soon as its entity is read, instead of collecting them in the result
   * (whose records then stay empty): a caller passing them on need not hold them all.
   */
  onRecord?: (record: EntityRecord) => void;
}

/** A parsed element: namespaced name, attributes keyed by local name or `{ns}local`, text, children. */
interface Element {
  ns: string;
  name: string;
  attrs: Record<string, string>;
  children: Element[];
  text: string;
}

type Frame =
  | { kind: 'group'; validUntil?: Date }
  | { kind: 'skip' }
  | { kind: 'element'; element: Element; entity?: { inheritedValidUntil?: Date } };

/** `xml` is the document, or its text in consecutive pieces (so a large one is never one string). */
export function parseMetadata(xml: string | Iterable<string>, source: string, options: ParseOptions = {}): ParsedMetadata {
  const now = options.now ?? new Date();
  const skip = options.onSkip ?? (() => {});
  const records: EntityRecord[] = [];
  const seen = new Set<string>();
  const stack: Frame[] = [];
  let root: Omit<ParsedMetadata, 'records' | 'rootSignatures'> | undefined;
  let rootSignatures = 0;

  const parser = new SaxesParser({ xmlns: true, fileName: source });
  parser.on('doctype', () => {
    throw new InvalidMetadataError(`${source}: metadata must not contain a DOCTYPE (DTDs are refused, SAML2int SDP-G03)`);
  });
  parser.on('opentag', (tag) => {
    if (stack.length === 1 && tag.uri === NS.ds && tag.local === 'Signature') rootSignatures++;
    const top = stack.at(-1);
    if (top?.kind === 'skip') {
      stack.push(top);
      return;
    }
    if (top?.kind === 'element') {
      const element = toElement(tag);
      top.element.children.push(element);
      stack.push({ kind: 'element', element });
      return;
    }
    const isGroup = tag.uri === NS.md && tag.local === 'EntitiesDescriptor';
    const isEntity = tag.uri === NS.md && tag.local === 'EntityDescriptor';
    if (!top) {
      if (!isGroup && !isEntity) {
        throw new InvalidMetadataError(`${source}: the root element {${tag.uri}}${tag.local} is not md:EntitiesDescriptor or md:EntityDescriptor`);
      }
      root = {
        rootName: isGroup ? 'EntitiesDescriptor' : 'EntityDescriptor',
        validUntil: groupValidUntil(tag, source),
        cacheDurationMs: parseDuration(attrValue(tag, 'cacheDuration')),
      };
    }
    if (isGroup) {
      const validUntil = earliest(top?.validUntil, groupValidUntil(tag, source));
      if (isExpired(validUntil, now)) {
        const name = attrValue(tag, 'Name');
        skip(`the EntitiesDescriptor ${name ?? '(unnamed)'} expired at ${validUntil!.toISOString()}; all its entities are left out`);
        stack.push({ kind: 'skip' });
      } else {
        stack.push({ kind: 'group', validUntil });
      }
    } else if (isEntity) {
      stack.push({ kind: 'element', element: toElement(tag), entity: { inheritedValidUntil: top?.validUntil } });
    } else {
      // Signature, Extensions and the like of an EntitiesDescriptor: nothing an entity needs.
      stack.push({ kind: 'skip' });
    }
  });
  const addText = (text: string) => {
    const top = stack.at(-1);
    if (top?.kind === 'element') top.element.text += text;
  };
  parser.on('text', addText);
  parser.on('cdata', addText);
  parser.on('closetag', () => {
    const frame = stack.pop();
    if (frame?.kind !== 'element' || !frame.entity) return;
    const result = toRecord(frame.element, frame.entity.inheritedValidUntil, source, now);
    if (typeof result === 'string') {
      skip(result, frame.element.attrs.entityID);
    } else if (seen.has(result.entityId)) {
      skip('a duplicate of an earlier entity with this entityID; the first one is kept', result.entityId);
    } else {
      seen.add(detached(result.entityId));
      if (options.onRecord) options.onRecord(result);
      else records.push(result);
    }
  });

  // Only what the parser throws is about the XML; whatever feeds the pieces has its own errors.
  const run = (step: () => void) => {
    try {
      step();
    } catch (err) {
      if (err instanceof InvalidMetadataError) throw err;
      throw new InvalidMetadataError(`${source}: not well-formed XML: ${(err as Error).message}`, { cause: err });
    }
  };
  for (const piece of typeof xml === 'string' ? [xml] : xml) run(() => parser.write(piece));
  run(() => parser.close());
  if (!root) throw new InvalidMetadataError(`${source}: no root element`);
  return { records, ...root, rootSignatures };
}

/**
 * A copy of `s` that does not keep the text it was cut from alive: V8 holds a substring as a view
 * into its parent, so the entityIDs remembered through a large document would hold all of it.
 */
function detached(s: string): string {
  return ` ${s}`.slice(1);
}

function toElement(tag: SaxesTagNS): Element {
  const attrs: Record<string, string> = {};
  // for…in, not Object.values(): this runs for every element of an aggregate.
  for (const key in tag.attributes) {
    const a = tag.attributes[key]!;
    if (a.uri === 'http://www.w3.org/2000/xmlns/') continue;
    attrs[a.uri ? `{${a.uri}}${a.local}` : a.local] = a.value;
  }
  return { ns: tag.uri, name: tag.local, attrs, children: [], text: '' };
}

function attrValue(tag: SaxesTagNS, local: string): string | undefined {
  const a = tag.attributes[local];
  return a && a.uri === '' ? a.value : undefined;
}

function groupValidUntil(tag: SaxesTagNS, source: string): Date | undefined {
  const value = attrValue(tag, 'validUntil');
  if (value === undefined) return undefined;
  const date = parseDateTime(value);
  if (!date) throw new InvalidMetadataError(`${source}: validUntil "${value}" of ${tag.local} is not an xs:dateTime`);
  return date;
}

/** xs:dateTime; a value without a zone is taken as UTC, as SAML requires UTC anyway. */
function parseDateTime(value: string): Date | undefined {
  const v = value.trim();
  if (!/^-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$/.test(v)) return undefined;
  const date = new Date(/(Z|[+-]\d\d:\d\d)$/.test(v) ? v : `${v}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** xs:duration (PnYnMnDTnHnMnS) in milliseconds; months and years counted as 30 and 365 days. */
export function parseDuration(value: string | undefined): number | undefined {
  const m = value?.trim().match(/^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/);
  if (!m || value!.trim() === 'P' || value!.trim().endsWith('T')) return undefined;
  const [, y, mo, d, h, mi, s] = m.map((part) => Number(part ?? 0));
  return ((((y! * 365 + mo! * 30 + d!) * 24 + h!) * 60 + mi!) * 60 + s!) * 1000;
}

// ---- One EntityDescriptor → EntityRecord ----

const XML_LANG = `{${NS.xml}}lang`;

function children(el: Element | undefined, ns: string, name: string): Element[] {
  return el ? el.children.filter((c) => c.ns === ns && c.name === name) : [];
}

function child(el: Element | undefined, ns: string, name: string): Element | undefined {
  return el?.children.find((c) => c.ns === ns && c.name === name);
}

function isTrue(value: string | undefined): boolean {
  return value === 'true' || value === '1';
}

function nonNegativeInt(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value.trim()) : undefined;
}

/** The record, or the reason the entity is left out. */
function toRecord(el: Element, inheritedValidUntil: Date | undefined, source: string, now: Date): EntityRecord | string {
  const entityId = el.attrs.entityID?.trim();
  if (!entityId) return 'an EntityDescriptor without entityID';
  let validUntil = inheritedValidUntil;
  if (el.attrs.validUntil !== undefined) {
    const own = parseDateTime(el.attrs.validUntil);
    if (!own) return `validUntil "${el.attrs.validUntil}" is not an xs:dateTime`;
    validUntil = earliest(validUntil, own);
  }
  if (isExpired(validUntil, now)) return `expired at ${validUntil!.toISOString()}`;

  const extensions = child(el, NS.md, 'Extensions');
  const entityScopes = scopes(extensions);
  const record: EntityRecord = {
    entityId,
    entityAttributes: entityAttributes(extensions),
    organizationDisplayName: localized(children(child(el, NS.md, 'Organization'), NS.md, 'OrganizationDisplayName')),
    source,
  };
  const registrationAuthority = child(extensions, NS.mdrpi, 'RegistrationInfo')?.attrs.registrationAuthority?.trim();
  if (registrationAuthority) record.registrationAuthority = registrationAuthority;
  if (validUntil) record.validUntil = validUntil;

  const idp = samlRole(el, 'IDPSSODescriptor', now);
  if (idp) record.idp = idpRole(idp, entityScopes);
  const sp = samlRole(el, 'SPSSODescriptor', now);
  if (sp) record.sp = spRole(sp);
  return record;
}

/** The first role descriptor of this kind that speaks SAML 2.0 and has not expired. */
function samlRole(el: Element, name: string, now: Date): Element | undefined {
  return children(el, NS.md, name).find((role) => {
    const protocols = (role.attrs.protocolSupportEnumeration ?? '').split(/\s+/);
    const validUntil = role.attrs.validUntil === undefined ? undefined : parseDateTime(role.attrs.validUntil);
    if (role.attrs.validUntil !== undefined && !validUntil) return false;
    return protocols.includes(SAML2_PROTOCOL) && !isExpired(validUntil, now);
  });
}

function idpRole(role: Element, entityScopes: Scope[]): IdpRole {
  const extensions = child(role, NS.md, 'Extensions');
  const idp: IdpRole = {
    singleSignOnServices: endpoints(children(role, NS.md, 'SingleSignOnService')),
    wantAuthnRequestsSigned: isTrue(role.attrs.WantAuthnRequestsSigned),
    nameIdFormats: texts(children(role, NS.md, 'NameIDFormat')),
    keys: keys(role),
    scopes: uniqueScopes([...scopes(extensions), ...entityScopes]),
    ui: uiInfo(child(extensions, NS.mdui, 'UIInfo')),
  };
  const errorUrl = role.attrs.errorURL?.trim();
  if (errorUrl) idp.errorUrl = errorUrl;
  const hints = discoHints(child(extensions, NS.mdui, 'DiscoHints'));
  if (hints) idp.discoHints = hints;
  return idp;
}

/** mdui:DiscoHints; a value that is not a DNS name, a CIDR block or a geo: URI is left out. */
function discoHints(el: Element | undefined): DiscoHints | undefined {
  if (!el) return undefined;
  const hints: DiscoHints = {
    domainHints: [...new Set(texts(children(el, NS.mdui, 'DomainHint')).map((d) => d.toLowerCase().replace(/\.$/, '')).filter(isDnsName))],
    ipHints: texts(children(el, NS.mdui, 'IPHint')).filter(isCidr),
    geolocationHints: texts(children(el, NS.mdui, 'GeolocationHint')).filter((g) => /^geo:[-+]?\d/i.test(g)),
  };
  return hints.domainHints.length + hints.ipHints.length + hints.geolocationHints.length > 0 ? hints : undefined;
}

/** A DNS name, in ASCII or in Unicode (IDN) form, of at least two labels. */
function isDnsName(name: string): boolean {
  return name.length <= 253 && /^(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+[\p{L}\p{N}-]{2,63}$/u.test(name);
}

function isCidr(value: string): boolean {
  const [address = '', prefix, extra] = value.split('/');
  const version = isIP(address);
  return version !== 0 && extra === undefined && prefix !== undefined && /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

function spRole(role: Element): SpRole {
  const extensions = child(role, NS.md, 'Extensions');
  return {
    assertionConsumerServices: endpoints(children(role, NS.md, 'AssertionConsumerService')),
    authnRequestsSigned: isTrue(role.attrs.AuthnRequestsSigned),
    wantAssertionsSigned: isTrue(role.attrs.WantAssertionsSigned),
    nameIdFormats: texts(children(role, NS.md, 'NameIDFormat')),
    keys: keys(role),
    requestedAttributes: requestedAttributes(defaultService(children(role, NS.md, 'AttributeConsumingService'))),
    discoveryResponses: endpoints(children(extensions, NS.idpdisc, 'DiscoveryResponse')),
    ui: uiInfo(child(extensions, NS.mdui, 'UIInfo')),
  };
}

function endpoints(elements: Element[]): Endpoint[] {
  const result: Endpoint[] = [];
  for (const e of elements) {
    const binding = e.attrs.Binding?.trim();
    const location = e.attrs.Location?.trim();
    if (!binding || !location) continue;
    const endpoint: Endpoint = { binding, location };
    const index = nonNegativeInt(e.attrs.index);
    if (index !== undefined) endpoint.index = index;
    if (e.attrs.isDefault !== undefined) endpoint.isDefault = isTrue(e.attrs.isDefault);
    result.push(endpoint);
  }
  return result;
}

function texts(elements: Element[]): string[] {
  return elements.map((e) => e.text.trim()).filter((t) => t !== '');
}

function keys(role: Element): EntityKey[] {
  const result: EntityKey[] = [];
  for (const descriptor of children(role, NS.md, 'KeyDescriptor')) {
    const use = descriptor.attrs.use?.trim() || 'both';
    if (use !== 'signing' && use !== 'encryption' && use !== 'both') continue;
    for (const data of children(child(descriptor, NS.ds, 'KeyInfo'), NS.ds, 'X509Data')) {
      for (const cert of children(data, NS.ds, 'X509Certificate')) {
        const body = cert.text.replace(/\s+/g, '');
        if (/^[A-Za-z0-9+/]+={0,2}$/.test(body)) result.push({ use, certPem: pemFromBase64(body) });
      }
    }
  }
  return result;
}

function scopes(extensions: Element | undefined): Scope[] {
  const result: Scope[] = [];
  for (const s of children(extensions, NS.shibmd, 'Scope')) {
    const value = s.text.trim();
    const regexp = isTrue(s.attrs.regexp);
    if (value === '' || (regexp && !compiles(value))) continue;
    result.push({ value, regexp });
  }
  return result;
}

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

function uniqueScopes(list: Scope[]): Scope[] {
  const seen = new Set<string>();
  return list.filter((s) => {
    const key = `${s.regexp}:${s.value}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function entityAttributes(extensions: Element | undefined): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const container of children(extensions, NS.mdattr, 'EntityAttributes')) {
    for (const attribute of children(container, NS.saml, 'Attribute')) {
      const name = attribute.attrs.Name?.trim();
      if (!name) continue;
      const values = texts(children(attribute, NS.saml, 'AttributeValue'));
      result[name] = [...(result[name] ?? []), ...values];
    }
  }
  return result;
}

/** Text per xml:lang ("" when none); the first text of a language wins. */
function localized(elements: Element[]): Localized {
  const result: Localized = {};
  for (const e of elements) {
    const text = e.text.trim();
    const lang = e.attrs[XML_LANG]?.trim() ?? '';
    if (text !== '' && !(lang in result)) result[lang] = text;
  }
  return result;
}

function uiInfo(ui: Element | undefined): UiInfo {
  return {
    displayName: localized(children(ui, NS.mdui, 'DisplayName')),
    description: localized(children(ui, NS.mdui, 'Description')),
    logos: children(ui, NS.mdui, 'Logo').flatMap((logo) => {
      const url = logo.text.trim();
      if (url === '') return [];
      const entry: UiInfo['logos'][number] = { url };
      const width = nonNegativeInt(logo.attrs.width);
      const height = nonNegativeInt(logo.attrs.height);
      const lang = logo.attrs[XML_LANG]?.trim();
      if (width !== undefined) entry.width = width;
      if (height !== undefined) entry.height = height;
      if (lang) entry.lang = lang;
      return [entry];
    }),
    informationUrl: localized(children(ui, NS.mdui, 'InformationURL')),
    privacyStatementUrl: localized(children(ui, NS.mdui, 'PrivacyStatementURL')),
    ...keywords(children(ui, NS.mdui, 'Keywords')),
  };
}

/** mdui:Keywords: space-separated per language, "+" standing for a space inside one keyword. */
function keywords(elements: Element[]): Pick<UiInfo, 'keywords'> {
  const result: Record<string, string[]> = {};
  for (const e of elements) {
    const words = e.text.split(/\s+/).map((w) => w.replace(/\+/g, ' ').trim()).filter((w) => w !== '');
    const lang = e.attrs[XML_LANG]?.trim() ?? '';
    if (words.length > 0) result[lang] = [...(result[lang] ?? []), ...words];
  }
  return Object.keys(result).length > 0 ? { keywords: result } : {};
}

/** SAML metadata §2.4.4.1: isDefault="true", else the first not marked "false", else the first. */
function defaultService(services: Element[]): Element | undefined {
  return (
    services.find((s) => isTrue(s.attrs.isDefault)) ??
    services.find((s) => s.attrs.isDefault === undefined) ??
    services[0]
  );
}

function requestedAttributes(service: Element | undefined): RequestedAttribute[] {
  return children(service, NS.md, 'RequestedAttribute').flatMap((a) => {
    const name = a.attrs.Name?.trim();
    if (!name) return [];
    const attribute: RequestedAttribute = { name, isRequired: isTrue(a.attrs.isRequired) };
    const nameFormat = a.attrs.NameFormat?.trim();
    if (nameFormat) attribute.nameFormat = nameFormat;
    return [attribute];
  });
}
