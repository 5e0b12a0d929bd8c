/**
 * Device authorization polling abuse (RFC 8628 §3.5): a device polling faster than the announced
 * interval is told slow_down (and keeps its device code), a device code past its lifetime is
 * expired_token for good, and an expired user code cannot be approved any more.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { Browser } from '../../helpers/browser.js';
import { REDIS_URL } from '../../helpers/fedgate.js';
import { redisSkip } from '../../frontends/oidc-op/harness.js';
import { DEVICE_GRANT, attackSetup, type AttackSetup } from './harness.js';

const INTERVAL = 1;
const LIFETIME = 4;

/** One poll of the token endpoint by the public device client: status and error. */
async function poll(s: AttackSetup, deviceCode: string, clientId = 'cli'): Promise<{ status: number; error?: string }> {
  const res = await fetch(`${s.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: clientId }),
  });
  return { status: res.status, error: ((await res.json()) as { error?: string }).error };
}

function run(name: string, store: () => Record<string, unknown>, skip: string | false) {
  t.test(`device code polling (${name} store)`, { skip }, async (t) => {
    const s = await attackSetup(t, store(), { deviceFlow: { interval: INTERVAL }, ttl: { DeviceCode: LIFETIME } });
    // Started first, so it ages while the other case runs.
    const expiring = await s.deviceAuthorization('cli');
    const expiresAt = Date.now() + LIFETIME * 1000;

    await t.test('polling faster than the interval: slow_down, without losing the device code', async (t) => {
      const device = await s.deviceAuthorization('cli');
      t.equal(device.interval, INTERVAL, 'the interval is announced');
      t.same(await poll(s, device.device_code), { status: 400, error: 'authorization_pending' }, 'the first poll');
      const burst = await Promise.all(Array.from({ length: 5 }, () => poll(s, device.device_code)));
      t.ok(
        burst.every((r) => r.status === 400 && r.error === 'slow_down'),
        `a burst within the interval is told to slow down (${burst.map((r) => r.error).join(' ')})`,
      );
      const other = await s.deviceAuthorization('cli');
      t.equal((await poll(s, other.device_code)).error, 'authorization_pending', 'another device code is not slowed by this one');
      await sleep(INTERVAL * 1000 + 100);
      t.equal((await poll(s, device.device_code)).error, 'authorization_pending', 'after the interval it is pending again, still usable');
      t.ok(await s.serving(), 'fedgate keeps serving');
    });

    await t.test('after its lifetime: expired_token, every time, and the user code cannot be approved', async (t) => {
      const device = expiring;
      t.equal(device.expires_in, LIFETIME);
      await sleep(Math.max(0, expiresAt - Date.now()) + 500);
      t.same(await poll(s, device.device_code), { status: 400, error: 'expired_token' }, 'RFC 8628 §3.5 expired_token');
      t.same(await poll(s, device.device_code), { status: 400, error: 'expired_token' }, 'a fast poll after expiry is still expired_token, not slow_down');
      const browser = new Browser();
      const input = await browser.get(device.verification_uri);
      const entered = await browser.submit(input, { user_code: device.user_code });
      t.match(entered.body, /role="alert">This code has expired/, 'the user is told the code expired');
      t.notMatch(entered.body, 'Continue and log in', 'and is offered no way to approve it');
      t.equal((await poll(s, device.device_code)).error, 'expired_token');
      t.ok(await s.serving(), 'fedgate keeps serving');
    });
  });
}

run('memory', () => ({ type: 'memory' }), false);
run('Redis', () => ({ type: 'redis', url: REDIS_URL, keyPrefix: `fedgate-attack-device-${process.pid}-${Date.now()}:` }), redisSkip);
