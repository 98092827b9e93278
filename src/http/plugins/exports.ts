/**
 * Downloads beside GraphQL (docs/exports.md, docs/http.md):
 *
 * - `GET /exports/<team>/<model>.csv|.xlsx?measures=…&dimensions=…&grain=…&<filters>` streams a metrics
 *   query as a file (Excel "From Web", curl), authenticated by the request's key like every face (Bearer,
 *   HTTP Basic password, `?api_key=`). The question is planned and its first rows read before the
 *   response starts, so a bad question or another team's model gets a proper 4xx, not a broken file.
 * - `GET /downloads/<job>?by&exp&sig` serves a finished export job's file: the signed link is its own
 *   credential (bound to the job, the key and an expiry), as an S3 pre-signed URL would be.
 */
import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { UserError } from '../../errors.js';
import type { Download, ExportService } from '../../exports/export-service.js';
import { exportFormatOf } from '../../exports/export-service.js';
import { queryFromParams, type ParamValues } from '../../exports/url-query.js';
import type { Serving } from '../../serving/types.js';
import type { Logger } from '../../log.js';
import type { Authenticate } from '../http-deps.js';

export interface ExportsPluginOptions {
  exports: Pick<ExportService, 'open' | 'openDownload'>;
  serving: Pick<Serving, 'model'>;
  authenticate: Authenticate;
  log: Logger;
}

/** `attachment; filename="…"`, ASCII-safe (model names are identifiers already). */
function attachment(filename: string): string {
  return `attachment; filename="${filename.replace(/[^\w.-]/g, '_')}"`;
}

function sendDownload(reply: FastifyReply, download: Download) {
  void reply.header('content-type', download.contentType).header('content-disposition', attachment(download.filename)).header('cache-control', 'no-store');
  if (download.size !== undefined) void reply.header('content-length', String(download.size));
  return reply.send(download.body);
}

/** The plugin; register it with `deps.plugins`. */
export function exportsPlugin(options: ExportsPluginOptions): (app: FastifyInstance) => Promise<void> {
  return async (app) => {
    app.get<{ Params: { team: string; file: string }; Querystring: ParamValues }>('/exports/:team/:file', async (request: FastifyRequest<{ Params: { team: string; file: string }; Querystring: ParamValues }>, reply) => {
      const principal = await options.authenticate(request);
      const { team, file } = request.params;
      const dot = file.lastIndexOf('.');
      if (dot <= 0) throw new UserError('BAD_USER_INPUT', `the file name must be <model>.csv or <model>.xlsx, got "${file}"`);
      const format = exportFormatOf(file.slice(dot + 1));
      const model = options.serving.model(principal, `${team}.${file.slice(0, dot)}`);
      const input = queryFromParams(model, request.query);

      // Stops the warehouse query and the writer when the response ends before the whole file was read:
      // the client went away, or it was a HEAD request (fastify answers it from this handler, bodiless).
      const controller = new AbortController();
      const body = new PassThrough();
      reply.raw.on('close', () => {
        if (!body.readableEnded) controller.abort(new Error('the response ended before the export was written'));
      });
      const opened = await options.exports.open(principal, input, format, { signal: controller.signal });
      opened.write(body, { signal: controller.signal }).catch((err: unknown) => {
        if (!controller.signal.aborted) options.log.error('an export stream failed after it started', { err, url: request.url.split('?')[0] });
      });
      void reply
        .header('content-type', opened.contentType)
        .header('content-disposition', attachment(opened.filename))
        .header('cache-control', 'no-store');
      return reply.send(body);
    });

    app.get<{ Params: { job: string }; Querystring: { by?: string; exp?: string; sig?: string } }>('/downloads/:job', async (request, reply) => {
      const download = await options.exports.openDownload({ job: request.params.job, ...request.query });
      return sendDownload(reply, download);
    });
  };
}
