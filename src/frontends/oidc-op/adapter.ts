/**
 * oidc-provider's storage (sessions, interactions, grants, codes, tokens, device codes, dynamic
 * clients) on fedgate's Store, so memory or Redis serve it like every other login state and any
 * instance sharing Redis continues what another began.
 *
 * oidc-provider marks single-use artefacts (codes, rotated refresh tokens) by calling `consume`
 * after reading them unconsumed. Two requests presenting one code at once would both read it
 * unconsumed, so here `consume` is a set-if-absent of a marker: exactly one caller wins, the
 * other gets invalid_grant and — as on any replay — everything issued under the grant is revoked.
 */
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Store } from '../../store/store.js';

/** Models whose instances belong to a grant and go when it is revoked (as in oidc-provider's memory adapter). */
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode']);

/**
 * The models oidc-provider 9 consumes (their `consume` methods). Only their finds read the consumed
 * marker: sessions, interactions, grants and access tokens, most of the lookups in a login, are
 * never consumed, and `consume` refuses them rather than mark what no find would read.
 */
export const CONSUMABLE: ReadonlySet<string> = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PushedAuthorizationRequest', 'PreAuthorizedCode']);

/**
 * The secondary lookups oidc-provider 9 makes: Session.findByUid and DeviceCode.findByUserCode.
 * Only these models keep an index, so destroying anything else needs no read first.
 */
export const INDEXED: Readonly<Record<string, 'uid' | 'userCode'>> = { Session: 'uid', DeviceCode: 'userCode' };

/** Lifetime of what oidc-provider stores without expiry (dynamically registered clients). */
const NO_EXPIRY_MS = 10 * 365 * 86400 * 1000;

const PREFIX = 'oidc-op:';
const grantIndexKey = (grantId: string) => `${PREFIX}grant:${grantId}`;

interface StoredRecord {
  payload: AdapterPayload;
  /** Epoch milliseconds the store drops it (after the clock tolerance). */
  expiresAt: number;
}

export interface StoreAdapterOptions {
  store: Store;
  /**
   * Seconds kept beyond `expiresIn`, as oidc-provider's own adapter does, so a just-expired
   * token is reported as expired rather than unknown.
   */
  clockToleranceSeconds: number;
}

export class StoreAdapter implements Adapter {
  private readonly consumable: boolean;
  private readonly grantable: boolean;
  /** The payload field this model is looked up by besides its id, if any. */
  private readonly indexed: 'uid' | 'userCode' | undefined;

  constructor(
    private readonly model: string,
    private readonly options: StoreAdapterOptions,
  ) {
    this.consumable = CONSUMABLE.has(model);
    this.grantable = GRANTABLE.has(model);
    this.indexed = INDEXED[model];
  }

  /** The factory oidc-provider's `adapter` setting takes. */
  static factory(options: StoreAdapterOptions): (model: string) => Adapter {
    return (model) => new StoreAdapter(model, options);
  }

  private get store(): Store {
    return this.options.store;
  }

  private key(id: string): string {
    return `${PREFIX}${this.model}:${id}`;
  }

  private consumedKey(id: string): string {
    return `${PREFIX}consumed:${this.model}:${id}`;
  }

  private indexKey(kind: 'uid' | 'userCode', value: string): string {
    return `${PREFIX}${this.model}:${kind}:${value}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const ttlMs =
      typeof expiresIn === 'number' ? Math.max(1, expiresIn + this.options.clockToleranceSeconds) * 1000 : NO_EXPIRY_MS;
    const record: StoredRecord = { payload, expiresAt: Date.now() + ttlMs };
    const writes = [this.store.set(this.key(id), JSON.stringify(record), ttlMs)];
    const indexed = this.indexed && payload[this.indexed];
    if (this.indexed && typeof indexed === 'string') writes.push(this.store.set(this.indexKey(this.indexed, indexed), id, ttlMs));
    if (this.grantable && typeof payload.grantId === 'string') {
      writes.push(this.store.addToSet(grantIndexKey(payload.grantId), this.key(id), ttlMs));
    }
    await Promise.all(writes);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (!this.consumable) {
      const raw = await this.store.get(this.key(id));
      return raw === null ? undefined : (JSON.parse(raw) as StoredRecord).payload;
    }
    const [raw, consumed] = await Promise.all([this.store.get(this.key(id)), this.store.get(this.consumedKey(id))]);
    if (raw === null) return undefined;
    const { payload } = JSON.parse(raw) as StoredRecord;
    return consumed === null ? payload : { ...payload, consumed: Number(consumed) };
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.indexed === 'uid' ? this.findByIndex('uid', uid) : undefined;
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.indexed === 'userCode' ? this.findByIndex('userCode', userCode) : undefined;
  }

  async consume(id: string): Promise<void> {
    // A programming error, not a protocol one: a marker written here would never be read.
    if (!this.consumable) throw new TypeError(`${this.model} is not a consumable model`);
    const raw = await this.store.get(this.key(id));
    if (raw === null) throw new errors.InvalidGrant(`${this.model} not found`);
    const { payload, expiresAt } = JSON.parse(raw) as StoredRecord;
    const now = Date.now();
    const won = await this.store.setIfAbsent(this.consumedKey(id), String(Math.floor(now / 1000)), Math.max(1000, expiresAt - now));
    if (won) return;
    if (typeof payload.grantId === 'string') await this.revokeGrant(payload.grantId);
    throw new errors.InvalidGrant(`${this.model} already used`);
  }

  async destroy(id: string): Promise<void> {
    const kind = this.indexed;
    // Read before deleting: the index to clean is named in the record.
    const raw = kind ? await this.store.get(this.key(id)) : null;
    const deletes = [this.store.delete(this.key(id))];
    if (this.consumable) deletes.push(this.store.delete(this.consumedKey(id)));
    const value = kind && raw !== null ? (JSON.parse(raw) as StoredRecord).payload[kind] : undefined;
    if (kind && typeof value === 'string') deletes.push(this.deleteIndex(kind, value, id));
    await Promise.all(deletes);
  }

  /** Called once per grantable model; the index is shared, so the first call does the work. */
  async revokeByGrantId(grantId: string): Promise<void> {
    const members = await this.store.members(grantIndexKey(grantId));
    await Promise.all(members.map((key) => this.store.delete(key)));
    await this.store.delete(grantIndexKey(grantId));
  }

  /** A replay: the grant and everything issued under it, as oidc-provider revokes on a consumed code. */
  private async revokeGrant(grantId: string): Promise<void> {
    await this.revokeByGrantId(grantId);
    await this.store.delete(`${PREFIX}Grant:${grantId}`);
  }

  private async findByIndex(kind: 'uid' | 'userCode', value: string): Promise<AdapterPayload | undefined> {
    const id = await this.store.get(this.indexKey(kind, value));
    if (id === null) return undefined;
    const payload = await this.find(id);
    // The index may outlive a replaced record: trust only a record that still carries the value.
    return payload?.[kind] === value ? payload : undefined;
  }

  private async deleteIndex(kind: 'uid' | 'userCode', value: string, id: string): Promise<void> {
    if ((await this.store.get(this.indexKey(kind, value))) === id) await this.store.delete(this.indexKey(kind, value));
  }
}
