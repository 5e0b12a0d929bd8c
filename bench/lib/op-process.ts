/**
 * The social upstream of the benchmarks in a process of its own: an OpenID Provider (oidc-provider,
 * through the tests' peer) that fedgate calls server-side for the token and userinfo, so its work
 * counts neither as fedgate's nor as the driver's. Started by `startOpProcess`; tells its issuer
 * over IPC and exits when its parent disconnects.
 */
import { startOidcOpPeer } from '../../test/helpers/oidc-op-peer.js';

export interface OpProcessArgs {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as OpProcessArgs;
const op = await startOidcOpPeer({
  clients: [{ client_id: args.clientId, client_secret: args.clientSecret, redirect_uris: [args.redirectUri] }],
  user: {
    sub: 'b1e5a0c2',
    claims: { name: 'Bob Researcher', given_name: 'Bob', family_name: 'Researcher', email: 'bob@lab.example', email_verified: true },
  },
});
process.send?.({ issuer: op.issuer });
process.once('disconnect', () => {
  void op.close().then(() => process.exit(0));
});
