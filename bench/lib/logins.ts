/**
 * The login driver: plays the user's browser (a fresh cookie jar per login, so every login is a
 * full one and never an SSO shortcut) through fedgate and the peers, `concurrency` users at a
 * time, and records each complete login's latency. A login counts only when the service accepted
 * fedgate's answer: the SAML SP validated the assertion, or the RP redeemed the code and read
 * userinfo.
 */
import * as oidc from 'openid-client';
import { Browser, type Page } from '../../test/helpers/browser.js';
import { authorize, redeem } from '../../test/helpers/oidc-rp.js';
import { RP_SCOPE, type BenchPeers } from './peers.js';

export const SCENARIOS = ['saml-saml', 'saml-oidc', 'social-saml'] as const;
/** downstream protocol ← upstream: SAML SP via a SAML IdP; OIDC RP via a SAML IdP; SAML SP via a social OpenID Provider. */
export type Scenario = (typeof SCENARIOS)[number];

export const SCENARIO_NAMES: Record<Scenario, string> = {
  'saml-saml': 'SAML→SAML',
  'saml-oidc': 'SAML→OIDC (code + token + userinfo)',
  'social-saml': 'social→SAML',
};

export interface RunOptions {
  scenario: Scenario;
  /** Simultaneous users, each doing one login after another. */
  concurrency: number;
  /** Stop after this many logins were started… */
  logins?: number;
  /** …or once this much time has passed (whichever comes first; at least one must be given). */
  durationMs?: number;
  /** Send the upstream as an idphint instead of choosing it on fedgate's discovery page (default false). */
  hint?: boolean;
}

export interface LoginRun {
  scenario: Scenario;
  concurrency: number;
  /** Logins the service accepted. */
  completed: number;
  errors: number;
  /** The first few error messages, for diagnosis. */
  errorSamples: string[];
  /** Latency of each completed login in ms, in completion order. */
  latenciesMs: number[];
  wallMs: number;
}

/** A bound even a run with neither limit reached cannot pass: loops always stop by themselves. */
const HARD_MAX_LOGINS = 1_000_000;
const HARD_MAX_MS = 30 * 60_000;

function describe(page: Page): string {
  return `HTTP ${page.status} at ${page.url}: ${page.body.replace(/\s+/g, ' ').slice(0, 300)}`;
}

/** Ends at the SP's ACS with node-saml's verdict; anything else is a failed login. */
function expectSamlSuccess(peers: BenchPeers, page: Page): void {
  if (page.url !== peers.sp.acsUrl || page.status !== 200 || !page.body.includes('"ok":true')) {
    throw new Error(`the SP did not accept the login: ${describe(page)}`);
  }
}

async function samlLogin(peers: BenchPeers, upstream: string, hint: boolean): Promise<void> {
  const browser = new Browser();
  let page = await browser.get(await peers.sp.loginUrl(hint ? { idphint: upstream } : {}));
  if (!hint) {
    if (page.status !== 200) throw new Error(`no discovery page: ${describe(page)}`);
    page = await browser.submit(page, { idp: upstream }, 'choose');
  }
  expectSamlSuccess(peers, page);
}

async function oidcLogin(peers: BenchPeers, hint: boolean): Promise<void> {
  const client = peers.client();
  const upstream = peers.idp.entityId;
  const login = await authorize(new Browser(), client, peers.rp.redirectUri, { scope: RP_SCOPE, ...(hint ? { idphint: upstream } : {}) }, upstream);
  if (`${login.callback.origin}${login.callback.pathname}` !== peers.rp.redirectUri || !login.callback.searchParams.has('code')) {
    throw new Error(`no code at the redirect_uri: ${describe(login.page)}`);
  }
  const tokens = await redeem(client, login);
  const sub = tokens.claims()?.sub;
  if (!sub) throw new Error('no sub in the ID token');
  const userinfo = await oidc.fetchUserInfo(client, tokens.access_token, sub);
  if (!userinfo.email) throw new Error(`userinfo without email: ${JSON.stringify(userinfo)}`);
}

/** One complete login of `scenario`; throws when the service did not end up with a user. */
export function login(peers: BenchPeers, scenario: Scenario, hint = false): Promise<void> {
  switch (scenario) {
    case 'saml-saml':
      return samlLogin(peers, peers.idp.entityId, hint);
    case 'saml-oidc':
      return oidcLogin(peers, hint);
    case 'social-saml':
      return samlLogin(peers, peers.op.issuer, hint);
  }
}

/** `concurrency` users logging in one login after another until `logins` or `durationMs` is reached. */
export async function runLogins(peers: BenchPeers, options: RunOptions): Promise<LoginRun> {
  if (options.logins === undefined && options.durationMs === undefined) throw new Error('runLogins needs logins or durationMs');
  if (!(options.concurrency >= 1)) throw new Error('runLogins needs a concurrency of at least 1');
  const maxLogins = Math.min(options.logins ?? HARD_MAX_LOGINS, HARD_MAX_LOGINS);
  const start = performance.now();
  const deadline = start + Math.min(options.durationMs ?? HARD_MAX_MS, HARD_MAX_MS);
  const run: LoginRun = { scenario: options.scenario, concurrency: options.concurrency, completed: 0, errors: 0, errorSamples: [], latenciesMs: [], wallMs: 0 };
  let started = 0;

  const user = async () => {
    while (started < maxLogins && performance.now() < deadline) {
      started++;
      const t0 = performance.now();
      try {
        await login(peers, options.scenario, options.hint ?? false);
        run.latenciesMs.push(performance.now() - t0);
        run.completed++;
      } catch (err) {
        run.errors++;
        if (run.errorSamples.length < 5) run.errorSamples.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, user));
  run.wallMs = performance.now() - start;
  return run;
}
