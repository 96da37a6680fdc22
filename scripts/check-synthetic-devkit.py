#!/usr/bin/env python3
"""Checks a spikedrive synthetic dataset with the official nuScenes devkit (Python).

Usage:  python3 scripts/check-synthetic-devkit.py DATAROOT [VERSION] [OUT_DIR]

Needs the public `nuscenes-devkit` (pip) or its source on PYTHONPATH, with numpy, shapely, opencv,
matplotlib, pyquaternion and descartes. Loads the folder, runs get_sample_data (camera, lidar, flat),
render_sample, render_sample_data with the map underlay, the map expansion (get_map_mask as SAD calls it,
lanes, arclines, next roads), the CAN bus, the split lists, box_velocity and points_in_box against
num_lidar_pts, and prints one JSON summary. Exits non-zero on the first failure.
"""
import json
import os
import sys

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from pyquaternion import Quaternion  # noqa: E402

from nuscenes.can_bus.can_bus_api import NuScenesCanBus  # noqa: E402
from nuscenes.map_expansion.bitmap import BitMap  # noqa: E402
from nuscenes.map_expansion.map_api import NuScenesMap  # noqa: E402
from nuscenes.nuscenes import NuScenes  # noqa: E402
from nuscenes.utils.data_classes import LidarPointCloud  # noqa: E402
from nuscenes.utils.geometry_utils import BoxVisibility, points_in_box  # noqa: E402
from nuscenes.utils.splits import create_splits_scenes  # noqa: E402

LOCATIONS = ['singapore-onenorth', 'singapore-hollandvillage', 'singapore-queenstown', 'boston-seaport']


def main() -> None:
    dataroot = sys.argv[1]
    version = sys.argv[2] if len(sys.argv) > 2 else 'v1.0-mini'
    out_dir = sys.argv[3] if len(sys.argv) > 3 else None
    report = {}
    nusc = NuScenes(version=version, dataroot=dataroot, verbose=False)
    report['tables'] = {t: len(getattr(nusc, t)) for t in nusc.table_names}

    # Splits: every scene is in the split lists of its version.
    splits = create_splits_scenes()
    names = [s['name'] for s in nusc.scene]
    pool = splits['mini_train'] + splits['mini_val'] if version == 'v1.0-mini' else splits['train'] + splits['val']
    assert all(n in pool for n in names), f'scene names outside the {version} splits: {names}'
    report['splits'] = {
        'train': [n for n in names if n in (splits['mini_train'] if version == 'v1.0-mini' else splits['train'])],
        'val': [n for n in names if n in (splits['mini_val'] if version == 'v1.0-mini' else splits['val'])],
    }

    # Sample data in every mode, for every sample.
    boxes_seen = 0
    for sample in nusc.sample:
        assert len(sample['data']) == 7, f"sample {sample['token']} has channels {sorted(sample['data'])}"
        for channel, sd_token in sample['data'].items():
            path, boxes, cam = nusc.get_sample_data(sd_token, box_vis_level=BoxVisibility.ANY)
            assert os.path.exists(path), path
            boxes_seen += len(boxes)
        nusc.get_sample_data(sample['data']['LIDAR_TOP'], use_flat_vehicle_coordinates=True)
    report['camera_and_lidar_boxes'] = boxes_seen

    # Lidar: points_in_box over the stored sweep equals num_lidar_pts.
    mismatches = 0
    checked = 0
    for sample in nusc.sample[: min(12, len(nusc.sample))]:
        sd = sample['data']['LIDAR_TOP']
        pc = LidarPointCloud.from_file(nusc.get_sample_data_path(sd))
        _, boxes, _ = nusc.get_sample_data(sd)
        for box in boxes:
            ann = nusc.get('sample_annotation', box.token)
            count = int(points_in_box(box, pc.points[:3, :]).sum())
            checked += 1
            if count != ann['num_lidar_pts']:
                mismatches += 1
    report['num_lidar_pts'] = {'checked': checked, 'mismatches': mismatches}

    # Velocities from the annotation chains.
    velocities = [nusc.box_velocity(a['token']) for a in nusc.sample_annotation[:200]]
    report['finite_velocities'] = int(sum(np.all(np.isfinite(v)) for v in velocities))

    # Rendering.
    sample = nusc.sample[len(nusc.sample) // 2]
    nusc.render_sample(sample['token'], out_path=os.path.join(out_dir, 'render_sample.png') if out_dir else None)
    plt.close('all')
    nusc.render_sample_data(sample['data']['LIDAR_TOP'], underlay_map=True, with_anns=True,
                            out_path=os.path.join(out_dir, 'render_lidar.png') if out_dir else None)
    plt.close('all')
    nusc.render_sample_data(sample['data']['CAM_FRONT'],
                            out_path=os.path.join(out_dir, 'render_cam_front.png') if out_dir else None)
    plt.close('all')

    # Map expansion of every location.
    maps = {}
    for location in LOCATIONS:
        nmap = NuScenesMap(dataroot=dataroot, map_name=location)
        BitMap(dataroot, location, 'basemap')
        BitMap(dataroot, location, 'semantic_prior')
        info = {'lanes': len(nmap.lane), 'connectors': len(nmap.lane_connector)}
        logs = [l['token'] for l in nusc.log if l['location'] == location]
        scenes = [s for s in nusc.scene if s['log_token'] in logs]
        if scenes:
            first = nusc.get('sample', scenes[0]['first_sample_token'])
            pose = nusc.get('ego_pose', nusc.get('sample_data', first['data']['LIDAR_TOP'])['ego_pose_token'])
            x, y = pose['translation'][:2]
            yaw = Quaternion(pose['rotation']).yaw_pitch_roll[0]
            mask = nmap.get_map_mask((x, y, 100, 100), np.degrees(yaw), ['lane_divider', 'drivable_area'], (200, 200))
            info['sad_mask_fraction'] = [round(float(m.mean()), 4) for m in mask]
            assert mask[1].mean() > 0.05, 'the SAD drivable mask around the ego is nearly empty'
            info['layers_on_ego'] = {k: v != '' for k, v in nmap.layers_on_point(x, y).items() if k in ('drivable_area', 'road_segment', 'lane', 'lane_connector')}
            lane = nmap.get_closest_lane(x, y, radius=5)
            assert lane != '', 'no lane near the ego'
            info['closest_lane_outgoing'] = len(nmap.get_outgoing_lane_ids(lane))
            poses = nmap.discretize_lanes([lane], 0.5)[lane]
            assert min(np.hypot(np.array(poses)[:, 0] - x, np.array(poses)[:, 1] - y)) < 2.5
            nmap.get_arcline_path(lane)
            nmap.get_next_roads(x, y)
            if out_dir and not maps:
                nmap.render_map_patch((x - 60, y - 60, x + 60, y + 60), nmap.non_geometric_layers, figsize=(8, 8))
                plt.savefig(os.path.join(out_dir, 'map_patch.png'))
                plt.close('all')
        maps[location] = info
    report['maps'] = maps

    # CAN bus: messages nearest to each sample, forward speed and steering as SAD reads them.
    can = NuScenesCanBus(dataroot=dataroot)
    speeds = []
    for scene in nusc.scene:
        pose = can.get_messages(scene['name'], 'pose')
        steer = can.get_messages(scene['name'], 'steeranglefeedback')
        assert pose and steer and 'vel' in pose[0]
        speeds.append(round(float(np.mean([m['vel'][0] for m in pose])), 2))
    report['can_mean_speed'] = speeds
    print(json.dumps(report, indent=1))


if __name__ == '__main__':
    main()
