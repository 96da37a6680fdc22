// The renderer's side of the API: the Electron preload bridge where it exists, else HTTP to the browser-mode server
// with the session token from the URL. Both speak `api/protocol.ts`; errors come back as ApiError with their fix.
import {
  API_METHODS,
  ApiError,
  type ApiErrorBody,
  type ApiMethod,
  type ApiRequest,
  type ApiResponses,
  BINARY_METHODS,
  type ViewerApi,
} from '../api/protocol.ts';

export interface Bridge {
  invoke(method: string, request: unknown): Promise<{ ok: boolean; result?: unknown; error?: ApiErrorBody }>;
  onMenu(callback: (command: string) => void): void;
}

declare global {
  interface Window {
    spikedrive?: Bridge;
  }
}

export type Client = ViewerApi & {
  readonly transport: 'electron' | 'http';
  onMenu(cb: (c: string) => void): void;
};

function sessionToken(): string {
  const match = /token=([0-9a-f]+)/.exec(window.location.hash);
  if (match) {
    sessionStorage.setItem('spikedrive-token', match[1]);
    history.replaceState(null, '', window.location.pathname);
    return match[1];
  }
  return sessionStorage.getItem('spikedrive-token') ?? '';
}

function download(name: string, bytes: Uint8Array): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'image/png' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function createClient(): Client {
  const bridge = window.spikedrive;
  const call = async <M extends ApiMethod>(method: M, request: ApiRequest<M>): Promise<ApiResponses[M]> => {
    if (bridge) {
      const reply = await bridge.invoke(method, request);
      if (!reply.ok) throw new ApiError(reply.error ?? { message: 'unknown error' });
      return reply.result as ApiResponses[M];
    }
    if (method === 'saveFile') {
      const r = request as ApiRequest<'saveFile'>;
      download(r.name, r.bytes);
      return { path: r.name } as ApiResponses[M];
    }
    const response = await fetch(`api/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-spikedrive-token': token },
      body: JSON.stringify(request),
    });
    if (response.ok && BINARY_METHODS.has(method)) {
      return new Uint8Array(await response.arrayBuffer()) as ApiResponses[M];
    }
    const body = (await response.json()) as { ok: boolean; result?: unknown; error?: ApiErrorBody };
    if (!body.ok) throw new ApiError(body.error ?? { message: `HTTP ${response.status}` });
    return body.result as ApiResponses[M];
  };
  const token = bridge ? '' : sessionToken();
  const client = Object.fromEntries(
    API_METHODS.map((m) => [m, (request: ApiRequest<typeof m>) => call(m, request)]),
  ) as unknown as ViewerApi;
  return Object.assign(client, {
    transport: bridge ? ('electron' as const) : ('http' as const),
    onMenu(cb: (c: string) => void) {
      bridge?.onMenu(cb);
    },
  });
}
