/**
 * `fedgate metadata check FILE|URL [--cert PEM | --fingerprint SHA256]`: verifies a metadata
 * document the way the proxy would load it and summarises it for an operator. Exit status 0 when
 * usable, 1 when not, 2 on a usage error.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FedgateError, MetadataUnavailableError } from '../core/errors.js';
import { parseMetadata, type ParsedMetadata } from './parse.js';
import { readSource, trustedSigner } from './source.js';
import type { EntityRecord, UiInfo } from './types.js';
import { decodeUtf8, parseVerifiedDocument } from './verified-document.js';
import { checkValidity } from './verify.js';

export const METADATA_USAGE = `Usage: fedgate metadata check FILE|URL [--cert PEM | --fingerprint SHA256]
  Verifies the signature (when --cert or --fingerprint is given; required for a URL) and validity
  of a SAML metadata document and summarises its entities and the problems found.`;

export interface MetadataCommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Show a download progress line (stderr is a terminal). */
  progress: boolean;
  now?: Date;
}

/** Same default as a configured source's maxValidityDays. */
const MAX_VALIDITY_DAYS = 28;
/** Aggregates are typically valid for days (eduGAIN: 5), so "soon" means before the next day's refresh. */
const SOON_HOURS = 24;
const MAX_PROBLEM_LINES = 20;

export async function runMetadataCommand(argv: string[], io: MetadataCommandIo = defaultIo()): Promise<number> {
  const usage = (message: string) => {
    io.stderr(`fedgate metadata: ${message}\n\n${METADATA_USAGE}\n`);
    return 2;
  };
  let parsedArgs;
  try {
    parsedArgs = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { cert: { type: 'string' }, fingerprint: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    return usage((err as Error).message);
  }
  const { values, positionals } = parsedArgs;
  if (values.help) {
    io.stdout(`${METADATA_USAGE}\n`);
    return 0;
  }
  const [sub, location, ...rest] = positionals;
  if (sub !== 'check') return usage(sub ? `unknown subcommand "${sub}"` : 'missing subcommand');
  if (!location || rest.length > 0) return usage('expected exactly one FILE or URL');
  if (values.cert && values.fingerprint) return usage('give --cert or --fingerprint, not both');
  if (values.cert && !existsSync(values.cert)) return usage(`certificate file not found: ${values.cert}`);
  const fingerprint = values.fingerprint?.replace(/:/g, '').toLowerCase();
  if (fingerprint !== undefined && !/^[0-9a-f]{64}$/.test(fingerprint)) return usage('--fingerprint must be a SHA-256 fingerprint (64 hex digits, colons allowed)');
  const isUrl = /^https?:\/\//i.test(location);
  if (isUrl && !values.cert && !fingerprint) return usage('a URL must be checked against --cert or --fingerprint');

  const now = io.now ?? new Date();
  const skipped: string[] = [];
  let parsed: ParsedMetadata;
  const signed = Boolean(values.cert || fingerprint);
  try {
    const fetched = await readSource({ metadata: location }, { onProgress: io.progress ? progressLine(io) : undefined });
    if (io.progress && isUrl) io.stderr('\n');
    if (fetched === 'not-modified') throw new MetadataUnavailableError(`${location} answered 304 to an unconditional request`);
    const trusted = await trustedSigner({ ...(values.cert ? { signingCert: values.cert } : {}), ...(fingerprint ? { fingerprint } : {}) });
    const onSkip = (reason: string, entityId?: string) => void skipped.push(`${entityId ?? '(group)'}: left out: ${reason}`);
    parsed = trusted
      ? await parseVerifiedDocument(fetched.bytes, trusted, location, { now, onSkip })
      : parseMetadata(decodeUtf8(fetched.bytes, location), location, { now, onSkip });
    if (trusted) checkValidity(parsed.validUntil, MAX_VALIDITY_DAYS, now);
  } catch (err) {
    if (!(err instanceof FedgateError)) throw err;
    io.stderr(`fedgate metadata check: ${location}: INVALID: ${err.message}\n`);
    return 1;
  }
  io.stdout(summary(location, parsed, signed, skipped, now));
  return 0;
}

function summary(location: string, parsed: ParsedMetadata, signed: boolean, skipped: string[], now: Date): string {
  const records = parsed.records;
  const idps = records.filter((r) => r.idp);
  const sps = records.filter((r) => r.sp);
  const named = (ui: UiInfo | undefined) => ui !== undefined && Object.keys(ui.displayName).length > 0;
  const authorities = new Map<string, number>();
  for (const r of records) {
    const key = r.registrationAuthority ?? '(none)';
    authorities.set(key, (authorities.get(key) ?? 0) + 1);
  }
  const soon = records.filter((r) => r.validUntil && r.validUntil.getTime() - now.getTime() < SOON_HOURS * 3600_000);
  const problems = [...skipped, ...records.flatMap(problemsOf)];

  const lines = [
    `${location}: ${signed ? 'signature valid' : 'signature NOT checked (no --cert or --fingerprint)'}`,
    `  root: ${parsed.rootName}, validUntil ${parsed.validUntil?.toISOString() ?? '(none)'}, cacheDuration ${parsed.cacheDurationMs === undefined ? '(none)' : `${parsed.cacheDurationMs / 1000} s`}`,
    `  entities: ${records.length} (IdPs ${idps.length}, SPs ${sps.length})`,
    `  IdPs with mdui:DisplayName: ${idps.filter((r) => named(r.idp?.ui)).length}, without: ${idps.filter((r) => !named(r.idp?.ui)).length}`,
    `  SPs with mdui:DisplayName: ${sps.filter((r) => named(r.sp?.ui)).length}, without: ${sps.filter((r) => !named(r.sp?.ui)).length}`,
    `  registration authorities (top 10 of ${authorities.size}):`,
    ...[...authorities.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 10)
      .map(([authority, count]) => `    ${String(count).padStart(6)}  ${authority}`),
    `  entities expiring within ${SOON_HOURS} hours: ${soon.length}`,
    `  problems: ${problems.length}`,
    ...problems.slice(0, MAX_PROBLEM_LINES).map((p) => `    ${p}`),
    ...(problems.length > MAX_PROBLEM_LINES ? [`    … and ${problems.length - MAX_PROBLEM_LINES} more`] : []),
  ];
  return `${lines.join('\n')}\n`;
}

function problemsOf(r: EntityRecord): string[] {
  const found: string[] = [];
  if (r.idp && !r.idp.keys.some((k) => k.use !== 'encryption')) found.push(`${r.entityId}: IdP without a signing key`);
  if (r.idp && r.idp.singleSignOnServices.length === 0) found.push(`${r.entityId}: IdP without a SingleSignOnService`);
  if (r.sp && r.sp.assertionConsumerServices.length === 0) found.push(`${r.entityId}: SP without an AssertionConsumerService`);
  const endpoints = [...(r.idp?.singleSignOnServices ?? []), ...(r.sp?.assertionConsumerServices ?? []), ...(r.sp?.discoveryResponses ?? [])];
  const plain = endpoints.filter((e) => /^http:\/\//i.test(e.location));
  if (plain.length > 0) found.push(`${r.entityId}: HTTP-only endpoint ${plain[0]!.location}${plain.length > 1 ? ` (+${plain.length - 1})` : ''}`);
  return found;
}

function progressLine(io: MetadataCommandIo): (received: number, total: number | undefined) => void {
  let last = 0;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  return (received, total) => {
    const at = Date.now();
    if (at - last < 100 && received !== total) return;
    last = at;
    io.stderr(`\rdownloading: ${mb(received)} MB${total ? ` / ${mb(total)} MB (${Math.floor((received / total) * 100)}%)` : ''}`);
  };
}

function defaultIo(): MetadataCommandIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    progress: Boolean(process.stderr.isTTY),
  };
}
