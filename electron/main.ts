// The Electron shell: one secure window (context isolation, sandbox, no Node in the page, strict CSP, app pages
// served from the spikedrive:// scheme only), menus, and IPC answered by the same backend as browser mode.
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, screen, session, shell } from 'electron';
import { demoCacheFolder } from '../data-loaders/synthetic/index.ts';
import { openDemo } from '../src/viewer/app.ts';
import { createViewerBackend } from '../src/viewer/backend/backend.ts';
import { openPreferences } from '../src/viewer/backend/prefs.ts';
import { ensurePreloadBuild, ensureRendererBuild } from '../src/viewer/server/build.ts';
import { API_CHANNEL, handleIpc, MENU_CHANNEL } from './ipc.ts';
import {
  APP_ORIGIN,
  APP_SCHEME,
  appResponseHeaders,
  isAllowedNavigation,
  secureWebPreferences,
} from './security.ts';
import { windowBounds, windowStateToSave } from './window-state.ts';

const here = dirname(fileURLToPath(import.meta.url));
const MIME: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
};

function argValues(flag: string): string[] {
  const out: string[] = [];
  process.argv.forEach((a, i) => {
    if (a === flag && process.argv[i + 1]) out.push(process.argv[i + 1]);
  });
  return out;
}

protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

async function main() {
  await app.whenReady();
  const build = await ensureRendererBuild();
  const preload = await ensurePreloadBuild();
  const preferences = openPreferences();
  let window: BrowserWindow | null = null;
  const backend = createViewerBackend({
    mode: 'electron',
    preferences,
    rendererOpensPaths: false,
    cacheDir: join(dirname(demoCacheFolder()), 'runs'),
    live: { checkpoint: argValues('--checkpoint')[0] ?? null, offload: argValues('--offload') },
    log: (line) => console.error(line),
    hooks: {
      async chooseFolder(purpose) {
        if (!window) return null;
        const file = purpose === 'plugin' || purpose === 'checkpoint';
        const result = await dialog.showOpenDialog(window, {
          title:
            purpose === 'plugin'
              ? 'Choose a planner plugin'
              : purpose === 'checkpoint'
                ? 'Choose a model checkpoint'
                : `Open ${purpose}`,
          properties: file ? ['openFile'] : ['openDirectory'],
          filters:
            purpose === 'plugin'
              ? [{ name: 'Planner plugin', extensions: ['ts', 'js', 'mjs'] }]
              : purpose === 'checkpoint'
                ? [{ name: 'SAD checkpoint', extensions: ['safetensors'] }]
                : undefined,
        });
        return result.canceled ? null : (result.filePaths[0] ?? null);
      },
      async saveFile(name, bytes) {
        if (!window) return null;
        const result = await dialog.showSaveDialog(window, {
          defaultPath: name,
          filters: [{ name: 'PNG', extensions: ['png'] }],
        });
        if (result.canceled || !result.filePath) return null;
        const { writeFileAtomic } = await import('../src/util/index.ts');
        await writeFileAtomic(result.filePath, bytes);
        return result.filePath;
      },
    },
  });
  // Remembered folders stay openable (the user opened them before).
  const prefs = preferences.get();
  for (const folder of [...(prefs.recentDatasets ?? []), ...(prefs.recentRuns ?? [])]) {
    try {
      backend.guard.allow(folder);
    } catch {
      // Gone since: forget quietly.
    }
  }

  // The app's pages come from the built renderer only; anything else is 404.
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    const rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname).replace(/^\/+/, '');
    const file = normalize(join(build.dir, rel));
    if (url.host !== 'app' || !file.startsWith(build.dir)) return new Response('not found', { status: 404 });
    try {
      return new Response(await readFile(file), {
        headers: appResponseHeaders(MIME[extname(file)] ?? 'application/octet-stream'),
      });
    } catch {
      return new Response('not found', { status: 404 });
    }
  });
  // No remote content: every request that is not the app scheme is cancelled.
  session.defaultSession.webRequest.onBeforeRequest((details, callback) => {
    const ok =
      details.url.startsWith(`${APP_SCHEME}:`) ||
      details.url.startsWith('blob:') ||
      details.url.startsWith('data:') ||
      details.url.startsWith('devtools:');
    callback({ cancel: !ok });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));

  ipcMain.handle(API_CHANNEL, (event, method: unknown, payload: unknown) =>
    handleIpc(
      backend,
      { url: event.senderFrame?.url, isMainFrame: event.senderFrame === event.sender.mainFrame },
      method,
      payload,
    ),
  );

  const displays = screen.getAllDisplays().map((d) => d.workArea);
  window = new BrowserWindow({
    ...windowBounds(prefs.window, displays),
    title: 'spikedrive',
    backgroundColor: '#101216',
    webPreferences: secureWebPreferences(preload),
  });
  if (prefs.window?.maximized) window.maximize();
  window.webContents.on('will-navigate', (event, url) => {
    if (!isAllowedNavigation(url)) event.preventDefault();
  });
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  window.on('close', () => {
    if (!window) return;
    void preferences.set({ window: windowStateToSave(window.getNormalBounds(), window.isMaximized()) });
  });
  const send = (command: string) => window?.webContents.send(MENU_CHANNEL, command);
  Menu.setApplicationMenu(
    Menu.buildFromTemplate([
      {
        label: 'File',
        submenu: [
          { label: 'Open dataset…', accelerator: 'CmdOrCtrl+O', click: () => send('open-dataset') },
          { label: 'Open run…', accelerator: 'CmdOrCtrl+Shift+O', click: () => send('open-run') },
          {
            label: 'Export screenshot',
            accelerator: 'CmdOrCtrl+Shift+S',
            click: () => send('export-screenshot'),
          },
          { type: 'separator' },
          { label: 'Preferences', accelerator: 'CmdOrCtrl+,', click: () => send('preferences') },
          { type: 'separator' },
          { role: 'quit' },
        ],
      },
      {
        label: 'View',
        submenu: [{ role: 'reload' }, { role: 'toggleDevTools' }, { role: 'togglefullscreen' }],
      },
    ]),
  );
  for (const d of argValues('--dataset')) await backend.openDatasetFolder(d);
  for (const r of argValues('--run')) await backend.openRunFolder(r);
  if (
    !process.argv.includes('--no-demo') &&
    argValues('--dataset').length + argValues('--run').length === 0
  ) {
    openDemo(backend, (line) => console.error(line)).catch((e: Error) =>
      backend.notices.push(`demo: ${e.message}`),
    );
  }
  await window.loadURL(`${APP_ORIGIN}/index.html`);
  app.on('window-all-closed', async () => {
    await backend.close();
    app.quit();
  });
}

void here;
main().catch((error) => {
  console.error(error);
  app.exit(1);
});
