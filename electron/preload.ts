// The sandboxed renderer's only door to the app: a frozen `window.spikedrive` with `invoke(method, request)` and
// `onMenu(callback)`. No Node, no ipcRenderer object is exposed; the main process validates every message again.
// Self-contained on purpose: a sandboxed preload can import nothing but 'electron'.
import { contextBridge, ipcRenderer } from 'electron';

const API_CHANNEL = 'spikedrive:api';
const MENU_CHANNEL = 'spikedrive:menu';

contextBridge.exposeInMainWorld('spikedrive', {
  invoke: (method: string, request: unknown) => ipcRenderer.invoke(API_CHANNEL, String(method), request),
  onMenu: (callback: (command: string) => void) => {
    ipcRenderer.on(MENU_CHANNEL, (_event, command: unknown) => {
      if (typeof command === 'string') callback(command);
    });
  },
});
