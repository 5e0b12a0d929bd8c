/**
 * The provider holds no user database: what a client may see of a user is what the pipeline
 * released for that client at its last login, kept per grant (one client, one user, the scopes
 * granted so far) for as long as tokens of the grant can live. findAccount reads it back.
 */
import type { TokenInstance } from 'oidc-provider';
import type { Store } from '../../store/store.js';

export interface Release {
  accountId: string;
  /** Claims under their OIDC names (claims.ts); oidc-provider masks them by scope. */
  claims: Record<string, unknown>;
}

/** What oidc-provider's findAccount returns. */
export interface Account {
  accountId: string;
  claims(): Promise<Record<string, unknown>>;
}

const releaseKey = (grantId: string) => `oidc-op:release:${grantId}`;

export class ReleaseStore {
  constructor(
    private readonly store: Store,
    /** Grant TTL plus access token TTL: the last token of a grant can outlive it by that much. */
    private readonly ttlMs: number,
  ) {}

  async save(grantId: string, release: Release): Promise<void> {
    await this.store.set(releaseKey(grantId), JSON.stringify(release), this.ttlMs);
  }

  async get(grantId: string): Promise<Release | undefined> {
    const raw = await this.store.get(releaseKey(grantId));
    return raw === null ? undefined : (JSON.parse(raw) as Release);
  }

  /**
   * oidc-provider's `findAccount`. With a token (code, access or refresh token) the account is
   * the one its grant's release names, and unknown once that is gone; without (the authorization
   * endpoint checking its session) only the account id is needed.
   */
  async findAccount(accountId: string, token: TokenInstance | undefined): Promise<Account | undefined> {
    if (!token) return { accountId, claims: async () => ({ sub: accountId }) };
    if (!token.grantId) return undefined;
    const release = await this.get(token.grantId);
    if (!release || release.accountId !== accountId) return undefined;
    return { accountId, claims: async () => ({ ...release.claims, sub: accountId }) };
  }
}
