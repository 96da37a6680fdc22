// Browser mode: a small HTTP server on 127.0.0.1 that serves the built renderer and answers the same API as the
// Electron preload (POST /api/<method>, JSON in, JSON or bytes out). A random session token, printed only in the
// URL the user opens, guards the API; the Host and Origin headers are checked against DNS rebinding.
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve } from 'node:path';
import { isSpikedriveError } from '../../util/index.ts';
import { type ApiErrorBody, BINARY_METHODS, type ViewerApi, validateRequest } from '../api/protocol.ts';
import { CONTENT_SECURITY_POLICY, checkApiRequest } from '../api/security.ts';
import { dispatch } from '../backend/backend.ts';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

export interface ViewerServerOptions {
  backend: ViewerApi;
  /** Folder of the built renderer (index.html + assets). */
  staticDir: string;
  port?: number;
  /** Session token (default: 32 random hex digits). */
  token?: string;
  /** Largest request body in bytes (default 1 MiB). */
  maxBodyBytes?: number;
}

export interface ViewerServer {
  url: string;
  /** The URL with the token, as printed for the user. */
  openUrl: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

export function errorBody(error: unknown): { status: number; body: ApiErrorBody } {
  if (isSpikedriveError(error)) {
    return { status: 400, body: { message: error.message, fix: error.fix, subject: error.subject } };
  }
  return { status: 500, body: { message: (error as Error)?.message ?? String(error) } };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw Object.assign(new Error(`request body over ${limit} bytes`), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts the server on 127.0.0.1 (port 0 = any free port). */
export async function startViewerServer(options: ViewerServerOptions): Promise<ViewerServer> {
  const token = options.token ?? randomBytes(16).toString('hex');
  const staticRoot = resolve(options.staticDir);
  const limit = options.maxBodyBytes ?? 1 << 20;
  let port = 0;

  const handleApi = async (req: IncomingMessage, res: ServerResponse, method: string) => {
    const check = checkApiRequest(
      {
        host: req.headers.host,
        origin: req.headers.origin,
        token: req.headers['x-spikedrive-token'] as string | undefined,
      },
      port,
      token,
    );
    if (!check.ok) return send(res, check.status, { ok: false, error: { message: check.message } });
    if (req.method !== 'POST') return send(res, 405, { ok: false, error: { message: 'use POST' } });
    let payload: unknown;
    try {
      const text = await readBody(req, limit);
      payload = text === '' ? {} : JSON.parse(text);
    } catch (error) {
      const status = (error as { status?: number }).status ?? 400;
      return send(res, status, {
        ok: false,
        error: { message: `bad request body: ${(error as Error).message}` },
      });
    }
    const valid = validateRequest(method, payload);
    if (!valid.ok) return send(res, 400, { ok: false, error: valid.error });
    try {
      const result = await dispatch(options.backend, valid.method, valid.request as never);
      if (BINARY_METHODS.has(valid.method)) {
        const bytes = result as Uint8Array;
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': bytes.length,
          'cache-control': 'no-store',
        });
        res.end(bytes);
      } else send(res, 200, { ok: true, result });
    } catch (error) {
      const { status, body } = errorBody(error);
      send(res, status, { ok: false, error: body });
    }
  };

  const handleStatic = (req: IncomingMessage, res: ServerResponse, pathname: string) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405);
      return res.end();
    }
    const rel = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
    const file = normalize(join(staticRoot, rel));
    if (!file.startsWith(staticRoot) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('not found');
    }
    res.writeHead(200, {
      'content-type': MIME[extname(file)] ?? 'application/octet-stream',
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': file.endsWith('index.html') ? 'no-store' : 'max-age=3600',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname.startsWith('/api/')) {
      handleApi(req, res, url.pathname.slice(5)).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, { ok: false, error: { message: String(error) } });
      });
    } else handleStatic(req, res, url.pathname);
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolvePromise());
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/`;
  return {
    url,
    openUrl: `${url}#token=${token}`,
    port,
    token,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
