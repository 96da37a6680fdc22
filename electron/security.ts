// Electron security settings as pure data and functions (unit-tested without the Electron binary): the renderer's
// web preferences, which navigations and windows are refused, and which IPC senders are trusted.
import { CONTENT_SECURITY_POLICY } from '../src/viewer/api/security.ts';

export { CONTENT_SECURITY_POLICY };

/** The app's own origin: the renderer is loaded from this custom scheme, never from the network. */
export const APP_SCHEME = 'spikedrive';
export const APP_ORIGIN = `${APP_SCHEME}://app`;

/** BrowserWindow webPreferences: isolated, sandboxed, no Node in the page, no remote content features. */
export function secureWebPreferences(preloadPath: string) {
  return {
    preload: preloadPath,
    contextIsolation: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    sandbox: true,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
  } as const;
}

/** Only the app's own pages may be shown; every other navigation (links, drops, redirects) is refused. */
export function isAllowedNavigation(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === 'app';
  } catch {
    return false;
  }
}

/** IPC is answered only for the main frame of the app's own page. */
export function isTrustedSender(senderUrl: string | undefined, isMainFrame: boolean): boolean {
  return isMainFrame && typeof senderUrl === 'string' && isAllowedNavigation(senderUrl);
}

/** Response headers for every file the app scheme serves. */
export function appResponseHeaders(contentType: string): Record<string, string> {
  return {
    'content-type': contentType,
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
  };
}
