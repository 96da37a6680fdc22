import { createHash } from 'node:crypto';

/**
 * Deterministic nuScenes-style tokens: 32 lowercase hex digits (an MD5 of a namespace and a key), so the same
 * seed and arguments give the same tokens on every run and machine, and different records never collide.
 */
export function makeToken(namespace: string, key: string): string {
  return createHash('md5').update(`${namespace}\u0000${key}`).digest('hex');
}

/** A token factory bound to one namespace (e.g. the seed and the dataset version). */
export type TokenFactory = (key: string) => string;

export function tokenFactory(namespace: string): TokenFactory {
  return (key) => makeToken(namespace, key);
}
