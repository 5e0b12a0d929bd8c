/**
 * The readable form of a pipeline trace: who the login is between, what each filter added (+) and
 * removed (-) with the reason it gave, and what leaves in the end or why the login is denied.
 *
 * Filters give reasons as free-text notes; a note is shown beside an attribute's line when it
 * starts with the attribute's name ("mail: not requested by the service") or quotes the value,
 * and every other note is listed under its filter, so no reason is ever lost.
 */
import { FedgateError } from '../core/errors.js';
import type { Attributes, Identity } from '../core/model.js';
import type { ServiceRegistration, UpstreamRegistration } from '../core/registration.js';
import type { Localized } from '../metadata/types.js';
import type { FilterTrace, PipelineTrace } from '../pipeline/runner.js';

export interface ExplainResult {
  service: ServiceRegistration;
  upstream: UpstreamRegistration | undefined;
  identity: Identity;
  trace: PipelineTrace;
  error?: unknown;
}

/** The denial as JSON and text show it. */
export interface Denial {
  filter: string;
  code: string;
  reason: string;
  userMessage?: string;
}

export function denialOf(result: ExplainResult): Denial | undefined {
  if (result.error === undefined) return undefined;
  const filter = result.trace.steps.at(-1)?.filter ?? '(unknown filter)';
  const error = result.error;
  if (error instanceof FedgateError) return { filter, code: error.code, reason: error.message, userMessage: error.userMessage };
  return { filter, code: 'internal_error', reason: error instanceof Error ? error.message : String(error) };
}

interface Style {
  bold(s: string): string;
  dim(s: string): string;
  added(s: string): string;
  removed(s: string): string;
}

const plain: Style = { bold: (s) => s, dim: (s) => s, added: (s) => s, removed: (s) => s };
const sgr = (code: string) => (s: string) => `\u001b[${code}m${s}\u001b[0m`;
const colored: Style = { bold: sgr('1'), dim: sgr('2'), added: sgr('32'), removed: sgr('31') };

/** A line longer than this on the left does not push the reasons of its block further right. */
const MAX_LEFT_WIDTH = 64;
const MAX_VALUE_WIDTH = 48;

/** Long values (hashed identifiers, entitlement URNs) keep their start and their scope or tail. */
function shorten(value: string): string {
  if (value.length <= MAX_VALUE_WIDTH) return value;
  return `${value.slice(0, 20)}…${value.slice(-(MAX_VALUE_WIDTH - 21))}`;
}

const localName = (text: Localized) => text.en ?? text[''] ?? Object.values(text)[0];

function isAbout(note: string, name: string): boolean {
  return note === name || note.startsWith(`${name}:`) || note.startsWith(`${name} `);
}

/** The note that explains one value of `name`; marks it used. */
function reasonFor(notes: string[], used: Set<number>, name: string, value: string): string | undefined {
  const about = notes.flatMap((note, i) => (isAbout(note, name) ? [i] : []));
  const quotes = (note: string | undefined) => value !== '' && note !== undefined && note.includes(value);
  const index = about.find((i) => quotes(notes[i])) ?? about[0] ?? notes.findIndex(quotes);
  const note = index === undefined || index < 0 ? undefined : notes[index];
  if (note === undefined) return undefined;
  used.add(index as number);
  return note.startsWith(`${name}:`) ? note.slice(name.length + 1).trim() : note;
}

interface Row {
  left: string;
  /** Width of `left` without colour codes. */
  width: number;
  reason?: string;
}

function alignRows(rows: Row[], indent: string, style: Style): string[] {
  const column = Math.max(0, ...rows.filter((r) => r.reason && r.width <= MAX_LEFT_WIDTH).map((r) => r.width));
  return rows.map((r) => (r.reason ? `${indent}${r.left}${' '.repeat(Math.max(0, column - r.width))}   ${style.dim(`(${r.reason})`)}` : `${indent}${r.left}`));
}

/** The +/- lines of one step with their reasons; `used` collects the notes they show. */
function changeRows(step: FilterTrace, used: Set<number>, style: Style): Row[] {
  const entries: { sign: '+' | '-'; name: string; value: string }[] = [];
  for (const [name, values] of Object.entries(step.removed)) for (const value of values) entries.push({ sign: '-', name, value });
  for (const [name, values] of Object.entries(step.added)) for (const value of values) entries.push({ sign: '+', name, value });
  const nameWidth = Math.max(0, ...entries.map((e) => e.name.length));
  const rows: Row[] = entries.map(({ sign, name, value }) => {
    const text = `${sign} ${name.padEnd(nameWidth)} = ${shorten(value)}`;
    const reason = reasonFor(step.notes, used, name, value);
    return {
      left: sign === '+' ? style.added(text) : style.removed(text),
      width: text.length,
      ...(reason ? { reason: `${step.filter}: ${reason}` } : {}),
    };
  });
  if (step.authnContext) {
    const text = `~ AuthnContextClassRef: ${step.authnContext.before.join(' ') || '(none)'} → ${step.authnContext.after.join(' ') || '(none)'}`;
    rows.push({ left: text, width: text.length });
  }
  return rows;
}

/**
 * Why each released attribute got out: the last filter's note about it that no +/- line showed
 * (the release policy's "mail: released by R&S bundle"). Marks those notes used.
 */
function releaseReasons(step: FilterTrace | undefined, released: Attributes, used: Set<number>): Map<string, string> {
  const reasons = new Map<string, string>();
  if (!step) return reasons;
  for (const name of Object.keys(released)) {
    for (let i = step.notes.length - 1; i >= 0; i--) {
      const note = step.notes[i];
      if (used.has(i) || !note?.startsWith(`${name}:`)) continue;
      used.add(i);
      reasons.set(name, `${step.filter}: ${note.slice(name.length + 1).trim()}`);
      break;
    }
  }
  return reasons;
}

function attributeRows(attributes: Attributes, reasons: Map<string, string> = new Map()): Row[] {
  const names = Object.keys(attributes);
  const width = Math.max(0, ...names.map((n) => n.length));
  return names.flatMap((name) =>
    (attributes[name] ?? []).map((value, i) => {
      const left = `${name.padEnd(width)} = ${value}`;
      const reason = i === 0 ? reasons.get(name) : undefined;
      return { left, width: left.length, ...(reason ? { reason } : {}) };
    }),
  );
}

function headerLines(result: ExplainResult, style: Style): string[] {
  const { service, upstream, identity } = result;
  const label = (key: string) => style.bold(key.padEnd(11));
  const named = (id: string, name: string | undefined) => (name && name !== id ? `${id}  "${name}"` : id);
  const lines = [`${label('service')}${named(service.id, localName(service.name))}  (${service.protocol})`];
  if (service.entityCategories.length > 0) lines.push(`${label('categories')}${service.entityCategories.join(', ')}`);
  if (service.protocol === 'saml') {
    const requested = service.requestedAttributes.map((a) => `${a.name}${a.required ? '*' : ''}`);
    lines.push(`${label('requests')}${requested.length > 0 ? `${requested.join(', ')}${requested.some((r) => r.endsWith('*')) ? '   (* required)' : ''}` : 'no attributes listed in its metadata'}`);
  }
  lines.push(
    upstream
      ? `${label('upstream')}${named(upstream.id, localName(upstream.displayName))}  (${upstream.protocol}${upstream.social ? ', social' : ''})`
      : `${label('upstream')}${identity.issuer}  ${style.dim('(not a configured upstream: the filters see no metadata for it)')}`,
  );
  const subject = `${identity.subject.id}${identity.subject.format ? ` (${identity.subject.format})` : ''}`;
  const count = Object.keys(identity.attributes).length;
  lines.push(`${label('identity')}${count} attribute${count === 1 ? '' : 's'}, subject ${subject}, authenticated ${identity.authn.instant}`);
  if (identity.authn.contextClassRefs.length > 0) lines.push(`${label('authn')}${identity.authn.contextClassRefs.join(' ')}`);
  return lines.map((l) => `  ${l}`);
}

export function formatReport(result: ExplainResult, options: { color: boolean }): string {
  const style = options.color ? colored : plain;
  const { trace } = result;
  const denial = denialOf(result);
  const out = [style.bold(`Why ${trace.service} gets what it gets`), ...headerLines(result, style), ''];

  const input = result.identity.attributes;
  out.push(style.bold(`Input: ${Object.keys(input).length} attributes from ${trace.upstream}`));
  out.push(...(Object.keys(input).length > 0 ? alignRows(attributeRows(input), '    ', style) : ['    (none)']), '');

  const used = trace.steps.map(() => new Set<number>());
  const changes = trace.steps.map((step, i) => changeRows(step, used[i] as Set<number>, style));
  const lastUsed = used.at(-1) ?? new Set<number>();
  const reasons = denial ? new Map<string, string>() : releaseReasons(trace.steps.at(-1), trace.released, lastUsed);

  if (trace.steps.length === 0) out.push(style.dim('The pipeline is empty: every attribute passes unchanged.'), '');
  for (const [i, step] of trace.steps.entries()) {
    const lines = alignRows(changes[i] ?? [], '    ', style);
    for (const [n, note] of step.notes.entries()) if (!used[i]?.has(n)) lines.push(`    ${style.dim(`· ${note}`)}`);
    if (lines.length === 0) lines.push(`    ${style.dim('(no change)')}`);
    out.push(style.bold(`${i + 1}. ${step.filter}`), ...lines, '');
  }

  if (denial) {
    out.push(style.removed(style.bold(`Denied by ${denial.filter}: nothing is released`)));
    out.push(`    reason         ${denial.reason}`);
    if (denial.userMessage) out.push(`    the user sees  ${denial.userMessage}`);
  } else {
    const count = Object.keys(trace.released).length;
    out.push(style.bold(`Released to ${trace.service}: ${count} attribute${count === 1 ? '' : 's'}`));
    out.push(...(count > 0 ? alignRows(attributeRows(trace.released, reasons), '    ', style) : ['    (nothing)']));
  }
  return `${out.join('\n')}\n`;
}
