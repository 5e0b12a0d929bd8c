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
  constructor(
    private readonly model: string,
    private readonly options: StoreAdapterOptions,
  ) {}

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
    if (typeof payload.uid === 'string') writes.push(this.store.set(this.indexKey('uid', payload.uid), id, ttlMs));
    if (typeof payload.userCode === 'string') writes.push(this.store.set(this.indexKey('userCode', payload.userCode), id, ttlMs));
    if (GRANTABLE.has(this.model) && typeof payload.grantId === 'string') {
      writes.push(this.store.addToSet(grantIndexKey(payload.grantId), this.key(id), ttlMs));
    }
    await Promise.all(writes);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const [raw, consumed] = await Promise.all([this.store.get(this.key(id)), this.store.get(this.consumedKey(id))]);
    if (raw === null) return undefined;
    const { payload } = JSON.parse(raw) as StoredRecord;
    return consumed === null ? payload : { ...payload, consumed: Number(consumed) };
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.findByIndex('uid', uid);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.findByIndex('userCode', userCode);
  }

  async consume(id: string): Promise<void> {
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
    const raw = await this.store.get(this.key(id));
    const deletes = [this.store.delete(this.key(id)), this.store.delete(this.consumedKey(id))];
    if (raw !== null) {
      const { payload } = JSON.parse(raw) as StoredRecord;
      if (typeof payload.uid === 'string') deletes.push(this.deleteIndex('uid', payload.uid, id));
      if (typeof payload.userCode === 'string') deletes.push(this.deleteIndex('userCode', payload.userCode, id));
    }
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
