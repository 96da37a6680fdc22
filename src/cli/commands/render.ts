import type { Command } from 'commander';
import { BoxVisibility } from '../../../data-loaders/nuscenes/geometry/index.ts';
import { NuScenes } from '../../../data-loaders/nuscenes/nuscenes.ts';
import {
  figureLayout,
  type MapMaskSource,
  openMapExpansion,
  renderSample,
} from '../../../data-loaders/nuscenes/render/index.ts';
import { SpikedriveError, writeFileAtomic } from '../../util/index.ts';

interface RenderFlags {
  dataroot: string;
  version: string;
  sample?: string;
  scene?: string;
  index: string;
  out: string;
  tileWidth: string;
  boxVis: string;
  range: string;
  map: boolean;
  palette: boolean;
}

const BOX_VIS: Record<string, BoxVisibility> = {
  any: BoxVisibility.ANY,
  all: BoxVisibility.ALL,
  none: BoxVisibility.NONE,
};

function integerFlag(value: string, flag: string, hint: string): number {
  const n = Number(value);
  if (!Number.isInteger(n))
    throw new SpikedriveError(`${flag} ${value} is not a whole number`, { fix: hint, subject: flag });
  return n;
}

/** The sample to draw: `--sample TOKEN`, or `--scene NAME --index K` (K-th keyframe, 0-based). */
function pickSample(nusc: NuScenes, flags: RenderFlags): string {
  if (flags.sample && flags.scene) {
    throw new SpikedriveError('give either --sample or --scene, not both', {
      fix: 'use --sample TOKEN, or --scene scene-0061 --index 5',
      subject: '--sample/--scene',
    });
  }
  if (flags.sample) return flags.sample;
  if (!flags.scene) {
    const first = nusc.scenes[0];
    throw new SpikedriveError('no sample chosen', {
      fix: first
        ? `add --sample TOKEN (e.g. ${first.first_sample_token}, the first of ${first.name}) or --scene ${first.name} --index 0`
        : 'add --sample TOKEN or --scene NAME',
      subject: '--sample',
    });
  }
  const scene = nusc.scenes.find((s) => s.name === flags.scene || s.token === flags.scene);
  if (!scene) {
    throw new SpikedriveError(`${nusc.version} has no scene ${flags.scene}`, {
      fix: `use one of: ${nusc.scenes
        .slice(0, 10)
        .map((s) => s.name)
        .join(', ')}${nusc.scenes.length > 10 ? ', …' : ''}`,
      subject: '--scene',
    });
  }
  const index = integerFlag(flags.index, '--index', 'give the keyframe number within the scene, from 0');
  const samples = [...nusc.sceneSamples(scene.token)];
  if (index < 0 || index >= samples.length) {
    throw new SpikedriveError(
      `${scene.name} has ${samples.length} samples; --index ${index} is out of range`,
      {
        fix: `use --index between 0 and ${samples.length - 1}`,
        subject: '--index',
      },
    );
  }
  return samples[index].token;
}

/** `spikedrive data render`: the devkit's render_sample as one PNG (six cameras + BEV with map and ego path). */
export function registerRenderCommand(data: Command): Command {
  return data
    .command('render')
    .description(
      'draw a sample: six cameras with projected boxes and a BEV panel with map layers, boxes and ego path',
    )
    .requiredOption('--dataroot <dir>', 'dataset folder (holds v1.0-*/, samples/, maps/)')
    .option('--version <version>', 'release folder', 'v1.0-mini')
    .option('--sample <token>', 'sample token to draw')
    .option('--scene <name>', 'or a scene name (with --index)')
    .option('--index <k>', 'keyframe number within --scene, from 0', '0')
    .requiredOption('--out <file.png>', 'PNG file to write')
    .option('--tile-width <px>', 'width of each camera tile', '640')
    .option('--box-vis <level>', 'which boxes a camera shows: any | all | none (devkit BoxVisibility)', 'any')
    .option('--range <m>', 'BEV half-width in metres', '50')
    .option('--no-map', 'draw the BEV without map layers')
    .option('--palette', 'write a 256-colour PNG (smaller, for docs)', false)
    .action(async (flags: RenderFlags) => {
      if (!flags.out.toLowerCase().endsWith('.png')) {
        throw new SpikedriveError(`--out ${flags.out} is not a .png file`, {
          fix: 'name the output FILE.png (the figure is written as PNG)',
          subject: '--out',
        });
      }
      const boxVisLevel = BOX_VIS[flags.boxVis.toLowerCase()];
      if (boxVisLevel === undefined) {
        throw new SpikedriveError(`--box-vis ${flags.boxVis} is not a visibility level`, {
          fix: 'use any (default), all or none',
          subject: '--box-vis',
        });
      }
      const tileWidth = integerFlag(flags.tileWidth, '--tile-width', 'give pixels, e.g. 640');
      figureLayout(tileWidth);
      const rangeM = Number(flags.range);
      const nusc = await NuScenes.load({ dataroot: flags.dataroot, version: flags.version, verbose: false });
      const sampleToken = pickSample(nusc, flags);
      const options = {
        tileWidth,
        boxVisLevel,
        rangeM,
        palette: flags.palette,
        ...(flags.map
          ? {
              openMap: (dataroot: string, location: string): MapMaskSource | undefined =>
                openMapExpansion(dataroot, location),
            }
          : { map: null }),
      };
      const png = await renderSample(nusc, sampleToken, options);
      await writeFileAtomic(flags.out, png);
      const layout = figureLayout(tileWidth);
      console.log(
        `wrote ${flags.out} (${layout.width}×${layout.height} px, ${Math.round(png.length / 1024)} KiB): sample ${sampleToken}`,
      );
    });
}
