/**
 * The SAML attack corpus as data: one YAML file per case under cases/<target>/, read and checked
 * here (an unknown key, operation, base, scenario or error class fails the run instead of being
 * skipped), and the small interpreter that applies a case's mutations to a freshly built, validly
 * signed message. See README.md for the format.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import * as errors from '../../../src/core/errors.js';
import { ENVELOPED_SIGNATURE, EXC_C14N } from '../../../src/crypto/xmldsig.js';
import { SAML_NS } from '../../../src/xml/untrusted.js';

export const TARGETS = ['acs', 'sso-redirect', 'sso-post'] as const;
export type Target = (typeof TARGETS)[number];

/** The messages a case can start from, per target. */
export const BASES = {
  acs: ['signed-response', 'signed-assertion', 'signed-response-only', 'encrypted-assertion'],
  'sso-redirect': ['authn-request', 'signed-authn-request'],
  'sso-post': ['authn-request', 'signed-authn-request'],
} as const satisfies Record<Target, readonly string[]>;

/** What must happen around a case's message; each runner implements the ones of its targets. */
export const SCENARIOS = {
  acs: [
    'answer-other-login',
    'answer-finished-login',
    'login-sent-to-other-idp',
    'replay-on-second-instance',
    'posted-from-other-browser',
    'posted-from-browser-with-own-login',
  ],
  'sso-redirect': [],
  'sso-post': [],
} as const satisfies Record<Target, readonly string[]>;

export const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
export const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';

/** `Assertion`, `Assertion/Signature/SignedInfo/Reference`, `AttributeValue[2]`: see README.md. */
const selector = z.string().regex(/^[A-Za-z]+(\[\d+\])?(\/[A-Za-z]+(\[\d+\])?)*$/, 'a path of element local names, e.g. Assertion/Signature');
const position = z.enum(['before', 'after', 'first-child', 'last-child']);
/** How the attacker's copy of an element differs from the original. */
const copy = {
  id: z.enum(['fresh', 'same']).default('fresh'),
  signature: z.enum(['drop', 'keep']).default('drop'),
  edits: z.record(selector, z.string()).default({}),
};

const mutation = z.discriminatedUnion('op', [
  z.object({ op: z.literal('duplicate-element'), element: selector, where: z.enum(['before', 'after']), ...copy }).strict(),
  z.object({ op: z.literal('wrap-in'), element: selector, wrapper: z.enum(['Extensions', 'Object', 'copy']), into: selector.optional(), ...copy }).strict(),
  z.object({ op: z.literal('move-element'), element: selector, where: position, of: selector }).strict(),
  z.object({ op: z.literal('insert-xml'), xml: z.string().min(1), where: position, of: selector }).strict(),
  z.object({ op: z.literal('insert-nested'), depth: z.number().int().positive(), where: position, of: selector }).strict(),
  z.object({ op: z.literal('remove-element'), element: selector }).strict(),
  z.object({ op: z.literal('remove-signature'), of: selector.optional() }).strict(),
  z.object({ op: z.literal('set-attribute'), element: selector, name: z.string().min(1), value: z.string().nullable() }).strict(),
  z.object({ op: z.literal('replace-text'), element: selector, value: z.string() }).strict(),
  z.object({ op: z.literal('insert-comment'), element: selector, after: z.string().min(1), comment: z.string().default('') }).strict(),
  z.object({ op: z.literal('prepend-doctype'), doctype: z.string().startsWith('<!DOCTYPE'), entity: z.object({ element: selector, ref: z.string() }).strict().optional() }).strict(),
  z.object({ op: z.literal('pad-to-bytes'), bytes: z.number().int().positive() }).strict(),
  z.object({ op: z.literal('deflate-bomb'), inflatedBytes: z.number().int().positive() }).strict(),
  z
    .object({
      op: z.literal('resign'),
      signatureAlgorithm: z.string().default(RSA_SHA256),
      digestAlgorithm: z.string().default(SHA256),
      /** The real sender's key, or that of another party the metadata registers. */
      key: z.enum(['sender', 'other']).default('sender'),
      elements: z.array(selector).min(1).optional(),
    })
    .strict(),
  z.object({ op: z.literal('set-query-param'), name: z.string().min(1), value: z.string().nullable() }).strict(),
]);
export type Mutation = z.infer<typeof mutation>;

/** Only the HTTP-Redirect binding has a query to change and a DEFLATE stage to abuse. */
const REDIRECT_ONLY: Mutation['op'][] = ['set-query-param', 'deflate-bomb'];

const refused = z.object({ status: z.number().int().min(400).max(599), error: z.string() }).strict();
const accepted = z
  .object({
    accepted: z.literal(true),
    /** What reached the service: the upstream subject (from the audit line) and attributes by SAML name. */
    released: z.object({ subject: z.string().optional(), attributes: z.record(z.string(), z.array(z.string())).optional() }).strict().optional(),
  })
  .strict();

const caseSchema = z
  .object({
    description: z.string().min(10),
    target: z.enum(TARGETS),
    base: z.string(),
    scenario: z.string().optional(),
    mutations: z.array(mutation).default([]),
    expect: z.union([refused, accepted]),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!(BASES[c.target] as readonly string[]).includes(c.base)) {
      ctx.addIssue({ code: 'custom', path: ['base'], message: `${c.target} cases start from one of ${BASES[c.target].join(', ')}` });
    }
    if (c.scenario !== undefined && !(SCENARIOS[c.target] as readonly string[]).includes(c.scenario)) {
      ctx.addIssue({ code: 'custom', path: ['scenario'], message: `${c.target} scenarios: ${SCENARIOS[c.target].join(', ') || 'none'}` });
    }
    c.mutations.forEach((m, i) => {
      if (REDIRECT_ONLY.includes(m.op) && c.target !== 'sso-redirect') {
        ctx.addIssue({ code: 'custom', path: ['mutations', i, 'op'], message: `${m.op} applies to sso-redirect only` });
      }
    });
    if ('error' in c.expect && !errorClass(c.expect.error)) {
      ctx.addIssue({ code: 'custom', path: ['expect', 'error'], message: `${c.expect.error} is not an error class of src/core/errors.ts` });
    }
    if ('released' in c.expect && c.target !== 'acs') {
      ctx.addIssue({ code: 'custom', path: ['expect', 'released'], message: 'only acs cases reach a service with an identity' });
    }
  });

export type AttackCase = z.infer<typeof caseSchema> & { name: string; file: string };
export type Refusal = z.infer<typeof refused>;

type ErrorClass = new (...args: string[]) => errors.FedgateError;

/** The FedgateError subclass named `name` in src/core/errors.ts. */
export function errorClass(name: string): ErrorClass | undefined {
  const candidate = (errors as Record<string, unknown>)[name];
  return typeof candidate === 'function' && candidate.prototype instanceof errors.FedgateError ? (candidate as ErrorClass) : undefined;
}

export const CASES_DIR = join(import.meta.dirname, 'cases');

/** The case in the YAML text `yaml` of file `target/file`; anything that does not fit the format throws, naming the file and the problem. */
export function parseCase(yaml: string, target: Target, file: string): AttackCase {
  if (!file.endsWith('.yaml')) throw new Error(`${target}/${file}: case files end in .yaml`);
  const parsed = caseSchema.safeParse(parseYaml(yaml));
  if (!parsed.success) throw new Error(`${target}/${file}: ${z.prettifyError(parsed.error)}`);
  if (parsed.data.target !== target) throw new Error(`${target}/${file}: target ${parsed.data.target} in the ${target} folder`);
  return { ...parsed.data, name: file.replace(/\.yaml$/, ''), file: join(CASES_DIR, target, file) };
}

/** Every case file of `target`, checked by parseCase. */
export function loadCases(target: Target): AttackCase[] {
  const dir = join(CASES_DIR, target);
  return readdirSync(dir)
    .sort()
    .map((file) => parseCase(readFileSync(join(dir, file), 'utf8'), target, file));
}

// ---- The interpreter ----

export interface SigningKey {
  keyPem: string;
  certPem: string;
}

export interface MutationContext {
  target: Target;
  /** The keys a `resign` signs with: the real sender's, and another registered party's. */
  keys: { sender: SigningKey; other: SigningKey };
  /** Values for `{{name}}` in a case's strings. */
  vars: Record<string, string>;
}

/** How to sign an HTTP-Redirect query (SAML bindings §3.4.4.1). */
export interface RedirectSignature {
  algorithm: string;
  key: SigningKey;
}

/** A message ready to be sent: its XML, and for HTTP-Redirect how to sign and alter the query. */
export interface PreparedMessage {
  xml: string;
  /** Undefined: unsigned. */
  redirectSignature?: RedirectSignature;
  /** Query parameters to set (or, null, remove) after encoding and signing. */
  query: Record<string, string | null>;
}

const NS = SAML_NS;
/** Prefixes `insert-xml` fragments may use without declaring them. */
const PREFIXES: Record<string, string> = { ...SAML_NS };

function parse(xml: string): Document {
  const fail = (msg: string) => {
    throw new Error(`the corpus produced XML it cannot read again: ${msg}`);
  };
  return new DOMParser({ errorHandler: { warning: () => undefined, error: fail, fatalError: fail } }).parseFromString(xml, 'text/xml');
}

const serialize = (doc: Document) => new XMLSerializer().serializeToString(doc);

function elementChildren(parent: Element, local?: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) if (n.nodeType === 1 && (!local || (n as Element).localName === local)) out.push(n as Element);
  return out;
}

function descendantsOrSelf(root: Element, local: string): Element[] {
  const inner = Array.from(root.getElementsByTagName('*')).filter((e) => e.localName === local);
  return root.localName === local ? [root, ...inner] : inner;
}

/** The elements `path` names under (or at) `scope`: the first step searches all descendants, later steps only children. */
function selectAll(scope: Element, path: string): Element[] {
  let found: Element[] | undefined;
  for (const step of path.split('/')) {
    const [, local = '', index] = /^([A-Za-z]+)(?:\[(\d+)\])?$/.exec(step) ?? [];
    let matches = found === undefined ? descendantsOrSelf(scope, local) : found.flatMap((e) => elementChildren(e, local));
    if (index !== undefined) matches = matches[Number(index)] ? [matches[Number(index)]!] : [];
    found = matches;
  }
  return found ?? [];
}

function select(scope: Element, path: string): Element {
  const found = selectAll(scope, path)[0];
  if (!found) throw new Error(`selector ${path} matches nothing in the message`);
  return found;
}

function place(node: Node, where: z.infer<typeof position>, anchor: Element): void {
  if (where === 'first-child') anchor.insertBefore(node, anchor.firstChild);
  else if (where === 'last-child') anchor.appendChild(node);
  else {
    if (!anchor.parentNode) throw new Error(`cannot place a node ${where} the root element`);
    anchor.parentNode.insertBefore(node, where === 'before' ? anchor : anchor.nextSibling);
  }
}

function signaturesOf(el: Element): Element[] {
  return elementChildren(el, 'Signature').filter((s) => s.namespaceURI === NS.ds);
}

/** The attacker's version of `el`: another ID unless told otherwise, unsigned unless told otherwise, edited. */
function attackerCopy(el: Element, spec: { id: 'fresh' | 'same'; signature: 'drop' | 'keep'; edits: Record<string, string> }): Element {
  const clone = el.cloneNode(true) as Element;
  if (spec.id === 'fresh') clone.setAttribute('ID', `_evil${randomBytes(8).toString('hex')}`);
  if (spec.signature === 'drop') for (const s of signaturesOf(clone)) clone.removeChild(s);
  for (const [path, text] of Object.entries(spec.edits)) select(clone, path).textContent = text;
  return clone;
}

/** A new element for a wrapper, in the SAML protocol or XML signature namespace. */
function wrapperElement(doc: Document, wrapper: 'Extensions' | 'Object'): Element {
  return wrapper === 'Extensions' ? doc.createElementNS(NS.samlp, 'samlp:Extensions') : doc.createElementNS(NS.ds, 'ds:Object');
}

/** Extensions follow Issuer and Signature (SAML core §3.2.2); an Object goes last into a Signature. */
function placeWrapper(wrapper: Element, into: Element): void {
  if (wrapper.localName === 'Object') return void into.appendChild(wrapper);
  const after = elementChildren(into).filter((e) => e.localName === 'Issuer' || e.localName === 'Signature').at(-1);
  if (after) place(wrapper, 'after', after);
  else into.insertBefore(wrapper, into.firstChild);
}

function fragment(doc: Document, xml: string): Node[] {
  const declarations = Object.entries(PREFIXES).map(([p, ns]) => `xmlns:${p}="${ns}"`).join(' ');
  const holder = parse(`<holder ${declarations}>${xml}</holder>`).documentElement;
  return Array.from(holder.childNodes).map((n) => doc.importNode(n, true));
}

function insertComment(el: Element, after: string, comment: string): void {
  for (let n = el.firstChild; n; n = n.nextSibling) {
    const text = n.nodeType === 3 ? (n.nodeValue ?? '') : '';
    const at = text.indexOf(after);
    if (at < 0) continue;
    const rest = (n as Text).splitText(at + after.length);
    el.insertBefore(el.ownerDocument.createComment(comment), rest);
    return;
  }
  throw new Error(`no text "${after}" in ${el.localName}`);
}

/** Pads `xml` with a trailing comment so that it is exactly `bytes` long in UTF-8. */
function padTo(xml: string, bytes: number): string {
  const spare = bytes - Buffer.byteLength(xml) - '<!---->'.length;
  if (spare < 0) throw new Error(`the message is already longer than ${bytes} bytes`);
  return `${xml}<!--${' '.repeat(spare)}-->`;
}

/**
 * Signs the elements named by `paths`, in order (inner ones first), with an enveloped signature
 * after each element's Issuer, as SAML senders do; signatures already there are removed first.
 */
export function signElements(xml: string, paths: string[], key: SigningKey, algorithms: { signatureAlgorithm: string; digestAlgorithm: string }): string {
  const doc = parse(xml);
  for (const s of Array.from(doc.getElementsByTagNameNS(NS.ds, 'Signature'))) s.parentNode?.removeChild(s);
  let out = serialize(doc);
  for (const path of paths) {
    const id = select(parse(out).documentElement, path).getAttribute('ID');
    if (!id) throw new Error(`${path} has no ID to sign`);
    const signer = new SignedXml({ privateKey: key.keyPem, publicCert: key.certPem, signatureAlgorithm: algorithms.signatureAlgorithm, canonicalizationAlgorithm: EXC_C14N });
    signer.addReference({ xpath: `//*[@ID='${id}']`, transforms: [ENVELOPED_SIGNATURE, EXC_C14N], digestAlgorithm: algorithms.digestAlgorithm });
    signer.computeSignature(out, { prefix: 'ds', location: { reference: `//*[@ID='${id}']/*[local-name()='Issuer']`, action: 'after' } });
    out = signer.getSignedXml();
  }
  return out;
}

const DEFAULT_SIGNED: Record<Target, string[]> = { acs: ['Assertion', 'Response'], 'sso-post': ['AuthnRequest'], 'sso-redirect': [] };

function substitute<T>(value: T, vars: Record<string, string>): T {
  if (typeof value === 'string') {
    return value.replace(/\{\{(\w+)\}\}/g, (_m, name: string) => {
      const v = vars[name];
      if (v === undefined) throw new Error(`unknown variable {{${name}}}; known: ${Object.keys(vars).join(', ')}`);
      return v;
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars)) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [substitute(k, vars), substitute(v, vars)])) as T;
  return value;
}

/**
 * Applies `mutations` in order to the message `xml` (already signed as its base says). Element
 * operations work on the parsed document; the raw-text ones (DOCTYPE, padding) must come last,
 * since what they make is no longer parsed here.
 */
export function applyMutations(xml: string, redirectSignature: RedirectSignature | undefined, mutations: Mutation[], ctx: MutationContext): PreparedMessage {
  let doc: Document | undefined = parse(xml);
  let raw = xml;
  const out: PreparedMessage = { xml, query: {}, ...(redirectSignature ? { redirectSignature } : {}) };
  const dom = (op: string): Document => {
    if (!doc) throw new Error(`${op} after a raw-text mutation: put prepend-doctype, pad-to-bytes and deflate-bomb last`);
    return doc;
  };
  const text = () => (doc ? serialize(doc) : raw);

  for (const m of substitute(mutations, ctx.vars)) {
    switch (m.op) {
      case 'duplicate-element': {
        const el = select(dom(m.op).documentElement, m.element);
        place(attackerCopy(el, m), m.where, el);
        break;
      }
      case 'wrap-in': {
        const d = dom(m.op);
        const el = select(d.documentElement, m.element);
        const evil = attackerCopy(el, m);
        el.parentNode!.replaceChild(evil, el);
        if (m.wrapper === 'copy') {
          evil.appendChild(el);
          break;
        }
        const wrapper = wrapperElement(d, m.wrapper);
        wrapper.appendChild(el);
        const into = m.into ? select(d.documentElement, m.into) : m.wrapper === 'Extensions' ? d.documentElement : signaturesOf(d.documentElement)[0] ?? signaturesOf(evil)[0];
        if (!into) throw new Error('wrap-in Object: no Signature to put the Object into; name one with `into`');
        placeWrapper(wrapper, into);
        break;
      }
      case 'move-element': {
        const root = dom(m.op).documentElement;
        const el = select(root, m.element);
        const anchor = select(root, m.of);
        el.parentNode!.removeChild(el);
        place(el, m.where, anchor);
        break;
      }
      case 'insert-xml': {
        const d = dom(m.op);
        const anchor = select(d.documentElement, m.of);
        const nodes = fragment(d, m.xml);
        if (m.where === 'after' || m.where === 'first-child') nodes.reverse();
        for (const n of nodes) place(n, m.where, anchor);
        break;
      }
      case 'insert-nested': {
        const d = dom(m.op);
        let chain = d.createElement('e');
        for (let level = 1; level < m.depth; level++) {
          const outer = d.createElement('e');
          outer.appendChild(chain);
          chain = outer;
        }
        place(chain, m.where, select(d.documentElement, m.of));
        break;
      }
      case 'remove-element': {
        const el = select(dom(m.op).documentElement, m.element);
        el.parentNode!.removeChild(el);
        break;
      }
      case 'remove-signature': {
        if (ctx.target === 'sso-redirect') {
          delete out.redirectSignature;
          break;
        }
        const root = dom(m.op).documentElement;
        const signatures = m.of ? signaturesOf(select(root, m.of)) : Array.from(root.getElementsByTagNameNS(NS.ds, 'Signature'));
        if (signatures.length === 0) throw new Error(`remove-signature: no signature ${m.of ? `on ${m.of}` : 'in the message'}`);
        for (const s of signatures) s.parentNode!.removeChild(s);
        break;
      }
      case 'set-attribute': {
        const el = select(dom(m.op).documentElement, m.element);
        if (m.value === null) el.removeAttribute(m.name);
        else el.setAttribute(m.name, m.value);
        break;
      }
      case 'replace-text':
        select(dom(m.op).documentElement, m.element).textContent = m.value;
        break;
      case 'insert-comment':
        insertComment(select(dom(m.op).documentElement, m.element), m.after, m.comment);
        break;
      case 'prepend-doctype': {
        const d = dom(m.op);
        const marker = `ENTITY-${randomBytes(6).toString('hex')}`;
        if (m.entity) select(d.documentElement, m.entity.element).textContent = marker;
        const body = serialize(d).replace(/^<\?xml[^>]*\?>\s*/, '');
        raw = `<?xml version="1.0" encoding="UTF-8"?>${m.doctype}${m.entity ? body.replace(marker, m.entity.ref) : body}`;
        doc = undefined;
        break;
      }
      case 'pad-to-bytes':
      case 'deflate-bomb':
        raw = padTo(text(), m.op === 'pad-to-bytes' ? m.bytes : m.inflatedBytes);
        doc = undefined;
        break;
      case 'resign': {
        if (ctx.target === 'sso-redirect') {
          out.redirectSignature = { algorithm: m.signatureAlgorithm, key: ctx.keys[m.key] };
          break;
        }
        const signed = signElements(text(), m.elements ?? DEFAULT_SIGNED[ctx.target], ctx.keys[m.key], m);
        doc = parse(signed);
        break;
      }
      case 'set-query-param':
        out.query[m.name] = m.value;
        break;
    }
  }
  out.xml = text();
  return out;
}
