// `npm ci` runs this (package.json "prepare"): builds the viewer's renderer once at install, so a new user's first
// `npm start` does not spend seconds on it. Never fails the install: the app builds it on first start otherwise.
import { ensureRendererBuild } from '../src/viewer/server/build.ts';

try {
  const build = await ensureRendererBuild();
  console.log(
    build.built
      ? `built the viewer in ${(build.ms / 1000).toFixed(1)} s → ${build.dir}`
      : `the viewer is already built (${build.dir})`,
  );
} catch (error) {
  console.warn(`could not build the viewer now (${(error as Error).message}); the first start will build it`);
}
