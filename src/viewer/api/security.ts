// The security settings both shells share: the content security policy of the renderer and the request checks of
// the browser-mode server. Pure functions, unit-tested.

/** The renderer's CSP: own scripts only (no inline, no eval), images from blobs (camera JPEGs), no remote content. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

/** Host header values a local server answers (a DNS-rebinding page sends its own host name). */
export function allowedHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
}

/** Whether an API request may proceed: right host, same-origin (or no Origin), the session token. */
export function checkApiRequest(
  headers: { host?: string; origin?: string; token?: string },
  port: number,
  token: string,
): { ok: true } | { ok: false; status: number; message: string } {
  const hosts = allowedHosts(port);
  if (!headers.host || !hosts.has(headers.host)) {
    return { ok: false, status: 403, message: `host ${headers.host ?? '(none)'} is not this server` };
  }
  if (headers.origin !== undefined && !hosts.has(headers.origin.replace(/^http:\/\//, ''))) {
    return { ok: false, status: 403, message: `cross-origin request from ${headers.origin}` };
  }
  if (!headers.token || !timingSafeEqualString(headers.token, token)) {
    return { ok: false, status: 401, message: 'missing or wrong session token' };
  }
  return { ok: true };
}

// Constant-time comparison of two strings (no early exit on the first differing character).
function timingSafeEqualString(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++)
    diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}
