/**
 * Client authentication held to the registered method. oidc-provider takes a client secret from
 * the Authorization header or from the body alike, whichever of client_secret_basic and
 * client_secret_post the client is registered for. A client uses the method it is registered with
 * (RFC 6749 §2.3, OIDC Registration `token_endpoint_auth_method`); the other way is refused like a
 * wrong secret: invalid_client, HTTP 401 — at the token, introspection and revocation endpoints.
 */
import Provider, { errors, type ClientInstance } from 'oidc-provider';

/** Wraps the secret check of `provider`'s own client class; no other provider is affected. */
export function requireRegisteredSecretMethod(provider: Provider): void {
  const prototype = provider.Client.prototype;
  const compare = prototype.compareClientSecret;
  prototype.compareClientSecret = function compareClientSecret(this: ClientInstance, actual: string) {
    // Called only once oidc-provider has found exactly one mechanism: a Basic header, or a body secret.
    const used = Provider.ctx?.req.headers.authorization === undefined ? 'client_secret_post' : 'client_secret_basic';
    if (used !== this.clientAuthMethod) {
      throw new errors.InvalidClientAuth(`${this.clientId} is registered for ${this.clientAuthMethod} but used ${used}`);
    }
    return compare.call(this, actual);
  };
}
