/**
 * The console at `/` and the Excel add-in at `/excel/` (docs/console.md, docs/excel.md): static web assets built by Vite from
 * src/console/ into dist/console/ (`npm run build`), read into memory at start-up and served WITHOUT a
 * key — the pages ask for the key themselves and send it with every API call, so nothing secret is in
 * them. `/excel/manifest.xml` is generated per request so that it points at the URL the service was
 * reached at. When the assets are not built, `/` says how to build them.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { excelManifestXml } from './excel-manifest.js';
import { PAGE_CSP } from './query-page.js';

/**
 * The console's policy: its own scripts only; inline style attributes (uPlot positions its legend and
 * cursor with them); API calls to the service itself and, for uploads to S3 pre-signed URLs, https.
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' https:; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The add-in's: Office.js must be loaded from Microsoft's CDN (the store requires it, and it is not on
 * npm in a form that runs outside Office), and Office hosts the pane in a frame, so no frame-ancestors.
 */
export const EXCEL_CSP =
  "default-src 'none'; script-src 'self' https://appsforoffice.microsoft.com; style-src 'self' 'unsafe-inline'; img-src 'self' data: https://appsforoffice.microsoft.com; connect-src 'self' https://appsforoffice.microsoft.com; frame-src https://appsforoffice.microsoft.com; font-src 'self'; base-uri 'none'; form-action 'none'";

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
};

export interface ConsolePluginOptions {
  /** The built assets (default: dist/console under the package root). */
  dir?: string;
}

/** The package root: the nearest folder above this file with a package.json (works from src/ and dist/src/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above the console plugin');
    dir = up;
  }
  return dir;
}

/** Where `npm run build` puts the console. */
export function defaultConsoleDir(): string {
  return join(packageRoot(), 'dist', 'console');
}

function readTree(root: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.set(`/${relative(root, path).split(sep).join('/')}`, readFileSync(path));
    }
  };
  walk(root);
  return files;
}

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sextant</title></head>
<body style="font:15px system-ui,sans-serif;margin:2em"><h1>Sextant</h1>
<p>The console is not built. Run <code>npm run build</code> (<code>npm start</code> does it), then reload.</p>
<p>Meanwhile: the <a href="/graphql">GraphQL query page</a>, <a href="/health/ready">readiness</a>.</p></body></html>`;

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim() || undefined;

/**
 * The base URL a client reached the service at, for the add-in's manifest. Behind a TLS-terminating
 * proxy (Excel loads add-ins only over https) that is the proxy's: its X-Forwarded-Proto/-Host say so.
 * Trusting them here is harmless: the manifest is a public document and names only where to load from.
 */
function baseUrlOf(request: FastifyRequest): string {
  const proto = first(request.headers['x-forwarded-proto']) ?? request.protocol;
  const host = first(request.headers['x-forwarded-host']) ?? request.host;
  return `${proto === 'https' ? 'https' : 'http'}://${host}`;
}

/** Registers `/`, `/assets/*` (both pages' bundles), `/excel/`, `/excel/manifest.xml` and the add-in's icons. */
export async function consolePlugin(app: FastifyInstance, options: ConsolePluginOptions = {}): Promise<void> {
  const dir = options.dir ?? defaultConsoleDir();
  let files = new Map<string, Buffer>();
  try {
    if (existsSync(join(dir, 'index.html'))) files = readTree(dir);
  } catch {
    // Being rebuilt under our feet (a file listed, then gone): serve as not built rather than fail to start.
    files = new Map();
  }

  const send = (reply: FastifyReply, path: string, csp: string) => {
    const body = files.get(path);
    if (!body) return undefined;
    // Vite names bundles by content hash, so they never change under their name; pages always revalidate.
    const immutable = path.startsWith('/assets/');
    return reply
      .type(TYPES[extname(path)] ?? 'application/octet-stream')
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', csp)
      .send(body);
  };

  app.get('/', async (_request, reply) => {
    if (files.size === 0) return reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP).send(NOT_BUILT);
    return send(reply, '/index.html', CONSOLE_CSP);
  });
  app.get('/excel', async (_request, reply) => reply.redirect('/excel/'));
  app.get('/excel/', async (_request, reply) => {
    if (files.size === 0) return reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP).send(NOT_BUILT);
    return send(reply, '/excel/index.html', EXCEL_CSP);
  });
  app.get('/excel/manifest.xml', async (request, reply) =>
    reply.type('application/xml; charset=utf-8').header('cache-control', 'no-cache').send(excelManifestXml(baseUrlOf(request))),
  );
  // Only names the build produced are served: the map is the allow-list, so `..` finds nothing.
  const asset = async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0];
    return send(reply, path, CONSOLE_CSP) ?? reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no console asset ${path}` } });
  };
  app.get('/assets/*', asset);
  app.get('/excel/icon-*', asset);
}
