/**
 * Signed URLs of the service's own (embedded mode): an upload's `PUT /uploads/<id>` and, with exports, a
 * download. The signature over the id and the expiry is the URL's credential (docs/http.md): it is
 * bound to one object and one expiry, and several API processes of one deployment
 * verify each other's URLs only when they share SEXTANT_SIGNING_SECRET.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface UrlSigner {
  /** The signature of `id` valid until `exp` (seconds since the epoch), URL-safe. */
  sign(id: string, exp: number): string;
  /** True when `sig` is the signature of `id` and `exp` (constant time). */
  verify(id: string, exp: number, sig: string): boolean;
}

/** A signer over `secret`; without one, a random key valid in this process only. */
export function createUrlSigner(secret: string | undefined): UrlSigner {
  const key = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
  const sign = (id: string, exp: number) => createHmac('sha256', key).update(`${id}\n${exp}`).digest('base64url');
  return {
    sign,
    verify: (id, exp, sig) => {
      const expected = Buffer.from(sign(id, exp));
      const given = Buffer.from(String(sig));
      return expected.length === given.length && timingSafeEqual(expected, given);
    },
  };
}
