// The main process's IPC handler as a pure function: the sender must be the app page, the method must exist and the
// payload must match its zod schema, or the request is refused with a message; then the backend answers.
import { type ApiErrorBody, type ViewerApi, validateRequest } from '../src/viewer/api/protocol.ts';
import { dispatch } from '../src/viewer/backend/backend.ts';
import { errorBody } from '../src/viewer/server/server.ts';
import { isTrustedSender } from './security.ts';

export const API_CHANNEL = 'spikedrive:api';
export const MENU_CHANNEL = 'spikedrive:menu';

export type IpcReply = { ok: true; result: unknown } | { ok: false; error: ApiErrorBody };

export async function handleIpc(
  backend: ViewerApi,
  sender: { url: string | undefined; isMainFrame: boolean },
  method: unknown,
  payload: unknown,
): Promise<IpcReply> {
  if (!isTrustedSender(sender.url, sender.isMainFrame)) {
    return {
      ok: false,
      error: { message: `IPC from an untrusted page (${sender.url ?? 'unknown'}) refused` },
    };
  }
  const valid = validateRequest(method, payload);
  if (!valid.ok) return { ok: false, error: valid.error };
  try {
    return { ok: true, result: await dispatch(backend, valid.method, valid.request as never) };
  } catch (error) {
    return { ok: false, error: errorBody(error).body };
  }
}
