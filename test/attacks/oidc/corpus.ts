/**
 * The OAuth/OIDC attack corpus as data: one YAML file per case in cases/, each a valid request of
 * one kind (an authorization request, or a token, introspection or device authorization request)
 * with the attacker's changes, and the RFC-conformant answer expected. Cases are checked against
 * this schema when loaded, so a mistyped case fails instead of passing vacuously.
 *
 * A case file:
 *
 *   name: redirect_uri with a trailing slash
 *   spec: RFC 6749 §4.1.2.1; RFC 9700 §2.1 (exact string matching)
 *   endpoint: authorization            # authorization | token | introspection | device_authorization
 *   client: web                        # the client the request is for / authenticates as
 *   auth: client_secret_post           # all but authorization: how the request authenticates
 *   secret: wrong-secret               #   with this secret instead of the client's own
 *   grant: authorization_code          # token: the grant whose valid request is the starting point
 *   from: rp                           #   whose code or tokens it carries (default: client)
 *   params:                            # changes to the request: a value sets, a list repeats, null removes
 *     redirect_uri: https://app.example.org/cb/
 *   expect:
 *     outcome: page                    # page (shown to the user, no redirect) | redirect (error at the
 *     status: 400                      #   redirect_uri with state and iss) | json (status + error)
 *     message: registered metadata does not list
 *
 * Placeholders in params: {redirectUri} and {rpPort} (the RP peer's registered redirect URI and
 * its port), {accessToken}, {refreshToken}, {idToken} (fresh tokens of `from`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';

const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none', 'client_secret_jwt', 'private_key_jwt', 'basic_and_post'] as const;
export const GRANTS = ['authorization_code', 'refresh_token', 'device_code', 'token_exchange'] as const;

const params = z.record(z.string(), z.union([z.string(), z.array(z.string()), z.null()])).default({});
const common = {
  name: z.string().min(1),
  spec: z.string().min(1),
  client: z.string().min(1),
  params,
};

const authorizationCase = z
  .object({
    ...common,
    endpoint: z.literal('authorization'),
    expect: z.discriminatedUnion('outcome', [
      z.object({ outcome: z.literal('page'), status: z.number().int(), message: z.string().min(1) }).strict(),
      z.object({ outcome: z.literal('redirect'), error: z.string().min(1), description: z.string().optional() }).strict(),
      z.object({ outcome: z.literal('code') }).strict(),
    ]),
  })
  .strict();

const backChannelCase = z
  .object({
    ...common,
    endpoint: z.enum(['token', 'introspection', 'device_authorization']),
    auth: z.enum(AUTH_METHODS),
    secret: z.string().optional(),
    grant: z.enum(GRANTS).optional(),
    from: z.string().optional(),
    expect: z.discriminatedUnion('outcome', [
      z.object({ outcome: z.literal('json'), status: z.number().int().min(400), error: z.string().min(1), description: z.string().optional() }).strict(),
      z.object({ outcome: z.literal('success') }).strict(),
    ]),
  })
  .strict()
  .refine((c) => (c.endpoint === 'token') === (c.grant !== undefined), { message: 'a token request names its grant; other requests none' });

export const attackCase = z.union([authorizationCase, backChannelCase]);
export type AttackCase = z.output<typeof attackCase> & { file: string };
export type AuthorizationCase = z.output<typeof authorizationCase> & { file: string };
export type BackChannelCase = z.output<typeof backChannelCase> & { file: string };

export const CASES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'cases');

/** Every case file, in name order; a file that does not fit the schema throws, naming it. */
export function loadCases(dir = CASES_DIR): AttackCase[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => {
      let raw: unknown;
      try {
        raw = parse(readFileSync(join(dir, file), 'utf8'));
      } catch (err) {
        throw new Error(`${file}: ${(err as Error).message}`);
      }
      const parsed = attackCase.safeParse(raw);
      if (!parsed.success) throw new Error(`${file}: ${z.prettifyError(parsed.error)}`);
      return { ...parsed.data, file };
    });
}

/** `base` with a case's changes: a string sets, a list repeats the parameter, null removes it. */
export function applyParams(base: Record<string, string>, changes: Record<string, string | string[] | null>, fill: (value: string) => string): URLSearchParams {
  const out = new URLSearchParams(base);
  for (const [name, value] of Object.entries(changes)) {
    out.delete(name);
    if (value === null) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.append(name, fill(v));
  }
  return out;
}
