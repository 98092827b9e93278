/**
 * Signed URLs the service serves itself (embedded mode, where the object store cannot sign): an upload
 * `PUT /uploads/<id>` and an export's `GET /downloads/<job>`. A signature is an HMAC-SHA-256 over the
 * URL's parts (what it is for, the object, the principal, the expiry), compared in constant time, so a
 * URL is bound to all of them: change one and it is refused.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export class UrlSigner {
  readonly #secret: Buffer;

  /** Without a configured secret, URLs signed by this process are valid only in this process. */
  constructor(secret?: string) {
    this.#secret = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
  }

  /** The signature of these parts (joined by newlines), URL-safe. */
  sign(...parts: Array<string | number>): string {
    return createHmac('sha256', this.#secret).update(parts.join('\n')).digest('base64url');
  }

  /** True when `sig` is the signature of these parts. */
  verify(sig: string, ...parts: Array<string | number>): boolean {
    const expected = Buffer.from(this.sign(...parts));
    const given = Buffer.from(String(sig));
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}
