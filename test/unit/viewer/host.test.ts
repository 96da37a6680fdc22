import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { handleIpc } from '../../../electron/ipc.ts';
import { isAllowedNavigation, secureWebPreferences } from '../../../electron/security.ts';
import { windowBounds, windowStateToSave } from '../../../electron/window-state.ts';
import { validateRequest } from '../../../src/viewer/api/protocol.ts';
import { CONTENT_SECURITY_POLICY, checkApiRequest } from '../../../src/viewer/api/security.ts';
import { createViewerBackend } from '../../../src/viewer/backend/backend.ts';
import { openPreferences } from '../../../src/viewer/backend/prefs.ts';
import { FolderGuard } from '../../../src/viewer/backend/roots.ts';
import { RunWriter } from '../../../src/viewer/run/folder.ts';
import { startViewerServer } from '../../../src/viewer/server/server.ts';
import { MANIFEST } from './_fixtures.ts';

const root = mkdtempSync(join(tmpdir(), 'viewer-host-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('path guard', () => {
  it('allows only paths inside opened folders, symlinks resolved, never the filesystem root', () => {
    const opened = join(root, 'opened');
    const other = join(root, 'other');
    mkdirSync(opened);
    mkdirSync(other);
    writeFileSync(join(other, 'secret.txt'), 'x');
    symlinkSync(other, join(opened, 'escape'));
    const guard = new FolderGuard();
    guard.allow(opened);
    expect(guard.isAllowed(join(opened))).toBe(true);
    expect(() => guard.resolveInside(join(other, 'secret.txt'))).toThrow(/outside the folders you opened/);
    expect(() => guard.resolveInside(join(opened, 'escape', 'secret.txt'))).toThrow(
      /outside the folders you opened/,
    );
    expect(() => guard.resolveInside(`${opened}/../other/secret.txt`)).toThrow(/outside/);
    expect(() => guard.allow('/')).toThrow(/whole filesystem/);
  });
});

describe('request validation', () => {
  it('rejects unknown methods, missing and extra fields', () => {
    expect(validateRequest('rm', {})).toMatchObject({
      ok: false,
      error: { message: 'unknown API method "rm"' },
    });
    expect(validateRequest('runFrame', { runId: 'run-1' })).toMatchObject({ ok: false });
    expect(validateRequest('runFrame', { runId: 'run-1', token: '../../etc' })).toMatchObject({ ok: false });
    expect(validateRequest('openRun', { path: '/x', evil: 1 })).toMatchObject({ ok: false });
    expect(validateRequest('runFrame', { runId: 'run-1', token: 'abc' })).toMatchObject({ ok: true });
    expect(validateRequest('saveFile', { name: '../x.png', bytes: new Uint8Array(1) })).toMatchObject({
      ok: false,
    });
  });

  it('checks host, origin and token for browser mode', () => {
    expect(checkApiRequest({ host: '127.0.0.1:80', token: 't' }, 80, 't')).toEqual({ ok: true });
    expect(checkApiRequest({ host: 'evil.example:80', token: 't' }, 80, 't')).toMatchObject({
      ok: false,
      status: 403,
    });
    expect(
      checkApiRequest({ host: '127.0.0.1:80', origin: 'http://evil.example', token: 't' }, 80, 't'),
    ).toMatchObject({ status: 403 });
    expect(checkApiRequest({ host: 'localhost:80', token: 'u' }, 80, 't')).toMatchObject({ status: 401 });
  });
});

describe('Electron main-process logic (no binary needed)', () => {
  it('runs the renderer isolated and sandboxed under a CSP without inline script or eval', () => {
    expect(secureWebPreferences('/p.cjs')).toMatchObject({
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webSecurity: true,
      webviewTag: false,
    });
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(isAllowedNavigation('spikedrive://app/index.html')).toBe(true);
    expect(isAllowedNavigation('https://example.com')).toBe(false);
    expect(isAllowedNavigation('file:///etc/passwd')).toBe(false);
  });

  it('refuses IPC from other pages and invalid messages, answers valid ones', async () => {
    const backend = createViewerBackend({
      mode: 'electron',
      preferences: openPreferences(null),
      rendererOpensPaths: false,
      cacheDir: root,
    });
    const app = { url: 'spikedrive://app/index.html', isMainFrame: true };
    expect(
      await handleIpc(backend, { url: 'https://evil.example/', isMainFrame: true }, 'startup', {}),
    ).toMatchObject({ ok: false });
    expect(await handleIpc(backend, { ...app, isMainFrame: false }, 'startup', {})).toMatchObject({
      ok: false,
    });
    expect(await handleIpc(backend, app, 'openRun', { path: 42 })).toMatchObject({
      ok: false,
      error: { message: /invalid openRun request/ },
    });
    // Electron: a path the renderer names must already lie in an opened folder.
    const reply = await handleIpc(backend, app, 'openRun', { path: root });
    expect(reply).toMatchObject({ ok: false, error: { message: /outside the folders you opened/ } });
    expect(await handleIpc(backend, app, 'startup', {})).toMatchObject({
      ok: true,
      result: { mode: 'electron' },
    });
    await backend.close();
  });

  it('remembers window bounds and brings a window back from a display that is gone', () => {
    const displays = [{ x: 0, y: 0, width: 1920, height: 1080 }];
    expect(windowBounds(undefined, displays)).toEqual({ width: 1600, height: 1000 });
    expect(windowBounds({ width: 1200, height: 800, x: 100, y: 50 }, displays)).toEqual({
      x: 100,
      y: 50,
      width: 1200,
      height: 800,
    });
    expect(windowBounds({ width: 1200, height: 800, x: 3000, y: 50 }, displays)).toEqual({
      width: 1200,
      height: 800,
    });
    expect(windowBounds({ width: 4000, height: 3000 }, displays)).toEqual({ width: 1920, height: 1080 });
    expect(windowStateToSave({ x: 1.4, y: 2, width: 10, height: 900.6 }, false)).toEqual({
      x: 1,
      y: 2,
      width: 400,
      height: 901,
      maximized: false,
    });
  });

  it('keeps preferences and recent folders, falling back to defaults on a damaged file', async () => {
    const file = join(root, 'prefs.json');
    const prefs = openPreferences(file);
    await prefs.set({ playbackSpeed: 2 });
    await prefs.remember('recentRuns', '/a');
    await prefs.remember('recentRuns', '/b');
    await prefs.remember('recentRuns', '/a');
    expect(openPreferences(file).get()).toEqual({ playbackSpeed: 2, recentRuns: ['/a', '/b'] });
    writeFileSync(file, '{ broken');
    const damaged = openPreferences(file);
    expect(damaged.get()).toEqual({});
    expect(damaged.warnings[0]).toMatch(/not valid JSON/);
  });
});

describe('browser-mode server', () => {
  it('serves the API behind the token and refuses paths that are not runs', async () => {
    const runDir = join(root, 'run');
    const writer = await RunWriter.create(runDir, MANIFEST);
    await writer.complete();
    const stat = join(root, 'static');
    mkdirSync(stat);
    writeFileSync(join(stat, 'index.html'), '<!doctype html>');
    const backend = createViewerBackend({
      mode: 'browser',
      preferences: openPreferences(null),
      rendererOpensPaths: true,
      cacheDir: root,
    });
    const server = await startViewerServer({ backend, staticDir: stat, token: 'secret' });
    try {
      const post = (method: string, body: unknown, token = 'secret') =>
        fetch(`${server.url}api/${method}`, {
          method: 'POST',
          headers: { 'x-spikedrive-token': token },
          body: JSON.stringify(body),
        });
      expect((await post('startup', {}, 'wrong')).status).toBe(401);
      const page = await fetch(server.url);
      expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect((await fetch(`${server.url}../../etc/passwd`)).status).toBe(404);
      const opened = await (await post('openRun', { path: runDir })).json();
      expect(opened).toMatchObject({ ok: true, result: { runId: 'run-1', status: 'complete' } });
      const bad = await post('openRun', { path: stat });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({
        ok: false,
        error: { message: /not a run folder/, fix: /spikedrive eval/ },
      });
      expect((await post('runFrame', { runId: 'run-1', token: 'nope' })).status).toBe(400);
      expect((await post('nope', {})).status).toBe(400);
    } finally {
      await server.close();
      await backend.close();
    }
  });
});
