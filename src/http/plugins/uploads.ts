/**
 * `PUT /uploads/:id?sig=…&exp=…`: the service's own signed upload URL in embedded mode (where the
 * object store cannot sign one). The body is streamed to the ingestion service, never buffered, and
 * cut off past the upload limit; the signature is the authorisation (as with an S3 pre-signed URL).
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { UserError } from '../../errors.js';
import type { UploadReceiver } from '../http-deps.js';

export interface UploadsPluginOptions {
  receiver: UploadReceiver;
  maxUploadBytes: number;
}

function tooLarge(max: number): UserError {
  return new UserError('PAYLOAD_TOO_LARGE', `the upload is larger than the limit of ${max} bytes`);
}

/** Passes bytes through and fails the stream once more than `max` bytes went by. */
export class ByteLimit extends Transform {
  private seen = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) callback(tooLarge(this.max));
    else callback(null, chunk);
  }
  get bytes(): number {
    return this.seen;
  }
}

export async function uploadsPlugin(app: FastifyInstance, options: UploadsPluginOptions): Promise<void> {
  // Uploads are files of any type: leave the body unread for the handler to stream (fastify's own
  // body limit applies only to bodies it parses, so the limit is enforced by ByteLimit below).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  app.put<{ Params: { id: string }; Querystring: { sig?: string; exp?: string } }>('/uploads/:id', async (request, reply) => {
    const { sig, exp } = request.query;
    if (!sig || !exp) throw new UserError('BAD_USER_INPUT', 'an upload URL carries sig and exp parameters: use the uploadUrl that createUpload answered');
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > options.maxUploadBytes) throw tooLarge(options.maxUploadBytes);
    const limit = new ByteLimit(options.maxUploadBytes);
    const body = request.raw.pipe(limit);
    request.raw.on('error', (err) => limit.destroy(err));
    const result = await options.receiver.receiveUpload({
      id: request.params.id,
      sig,
      exp,
      body,
      contentType: request.headers['content-type'],
      ...(Number.isFinite(declared) ? { contentLength: declared } : {}),
    });
    return reply.code(200).send({ id: request.params.id, bytes: limit.bytes, ...(typeof result === 'object' && result !== null ? { result } : {}) });
  });
}
