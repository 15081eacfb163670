"""Roof planes from a DSM (issue 12): synthetic roofs rasterised at 0.5 m with 0.1 m noise."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely

from solarmap.dsm_planes import planes_from_dsm

X0, Y0 = 352500.0, 3453500.0  # Dapuqiao, EPSG:32651
PX = 0.5
EAVE = 9.0


def _roof(kind, L, W, pitch, angle, cx, cy):
    """A roof's footprint, its height function z(x, y) (NaN outside) and its true planes (azimuth, tilt, slope
    area). Local frame: s along the length L (turned ``angle``° counter-clockwise from east), t across (W)."""
    a = math.radians(angle)
    u = np.array([math.cos(a), math.sin(a)])
    v = np.array([-math.sin(a), math.cos(a)])
    tan = math.tan(math.radians(pitch))
    fp = shapely.affinity.rotate(shapely.box(cx - L / 2, cy - W / 2, cx + L / 2, cy + W / 2), angle, origin=(cx, cy))

    def z(x, y):
        s = (x - cx) * u[0] + (y - cy) * u[1] + L / 2
        t = (x - cx) * v[0] + (y - cy) * v[1] + W / 2
        inside = (s >= 0) & (s <= L) & (t >= 0) & (t <= W)
        if kind == "gabled":
            h = np.minimum(t, W - t)
        elif kind == "hipped":  # equal pitch on all sides: the straight skeleton
            h = np.minimum(np.minimum(t, W - t), np.minimum(s, L - s))
        elif kind == "shed":
            h = t
        else:  # flat with a 1 m parapet 0.5 m wide
            h = np.where((np.minimum(np.minimum(t, W - t), np.minimum(s, L - s)) < 0.5), 1.0 / tan, 0.0)
        return np.where(inside, EAVE + tan * h, np.nan)

    def az(d):
        return math.degrees(math.atan2(d[0], d[1])) % 360.0

    c = 1.0 / math.cos(math.radians(pitch))
    if kind == "gabled":
        truth = [(az(-v), pitch, L * W / 2 * c), (az(v), pitch, L * W / 2 * c)]
    elif kind == "hipped":
        trap = (L + (L - W)) / 2 * W / 2 * c
        tri = W * W / 4 * c
        truth = [(az(-v), pitch, trap), (az(v), pitch, trap), (az(-u), pitch, tri), (az(u), pitch, tri)]
    elif kind == "shed":
        truth = [(az(-v), pitch, L * W * c)]
    else:
        truth = []
    return fp, z, truth


ROOFS = [("gabled", 20, 10, 30, 15, 30), ("hipped", 20, 12, 30, 15, 80), ("shed", 16, 10, 15, -20, 130),
         ("flat", 15, 15, 45, 0, 180)]


@pytest.fixture(scope="module")
def dsm(tmp_path_factory):
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(7)
    w, h = 440, 120  # 220 m × 60 m at 0.5 m
    t = from_origin(X0, Y0 + h * PX, PX, PX)
    cols, rows = np.meshgrid(np.arange(w), np.arange(h))
    x, y = X0 + (cols + 0.5) * PX, Y0 + h * PX - (rows + 0.5) * PX
    ground = np.zeros((h, w))
    roofs = []
    for kind, L, W, pitch, angle, cx in ROOFS:
        fp, z, truth = _roof(kind, L, W, pitch, angle, X0 + cx, Y0 + 30)
        zz = z(x, y)
        ground = np.where(np.isfinite(zz), zz, ground)
        roofs.append((kind, fp, truth))
    ground = ground + rng.normal(0.0, 0.1, ground.shape)  # 0.1 m noise on every pixel
    path = tmp_path_factory.mktemp("dsm") / "ndsm.tif"
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=1, dtype="float32", crs="EPSG:32651",
                       transform=t) as dst:
        dst.write(ground.astype("float32"), 1)
    fps = gpd.GeoDataFrame({"kind": [r[0] for r in roofs]}, geometry=[r[1] for r in roofs], crs=32651)
    return path, fps, [r[2] for r in roofs]


def _angle(a, b):
    return abs((a - b + 180.0) % 360.0 - 180.0)


def test_gabled_hipped_and_shed_roofs_are_found_within_2_degrees_5_degrees_and_5_percent(dsm):
    path, fps, truths = dsm
    fit = planes_from_dsm(fps, path)
    assert fit["roof_shape"].tolist() == ["gabled", "hipped", "skillion", "flat"]
    for i, truth in enumerate(truths[:3]):
        got = fit["planes"].iloc[i]
        assert len(got) == len(truth), fps["kind"].iloc[i]
        for az, tilt, area in truth:
            j = int(np.argmin([_angle(az, a) for a in got["surface_azimuth_deg"]]))
            p = got.iloc[j]
            assert _angle(p["surface_azimuth_deg"], az) < 5.0, (fps["kind"].iloc[i], az)
            assert abs(p["surface_tilt_deg"] - tilt) < 2.0, (fps["kind"].iloc[i], az)
            assert p["plane_area_m2"] == pytest.approx(area, rel=0.05), (fps["kind"].iloc[i], az)


def test_a_flat_roof_with_a_parapet_is_flat(dsm):
    path, fps, _ = dsm
    fit = planes_from_dsm(fps.iloc[[3]], path)
    assert fit["roof_shape"].iloc[0] == "flat" and fit["planes"].iloc[0] is None


def test_the_assessment_takes_planes_from_the_dsm(dsm, tmp_path):
    from solarmap.assessment import assess_roofs, prepare
    from solarmap.config import Config
    from solarmap.solar import sun_positions
    from solarmap.sources.footprints import footprints_from_frame
    from solarmap.sources.weather import read_embedded

    path, fps, truths = dsm
    cfg = Config()
    cfg.buildings.dsm = str(path)
    cfg.roofs.shape_source = "dsm"
    frame = fps.assign(building_id=[f"B{i}" for i in range(len(fps))])
    roofs = prepare(footprints_from_frame(frame, source="test"), cfg, baseline_year=2021)
    assert roofs["roof_shape_source"].tolist() == ["dsm"] * 4
    w = read_embedded()
    out: list = []
    r = assess_roofs(roofs, cfg, weather=w, sun=sun_positions(w), latitude_deg=31.2, planes_out=out)
    p = out[0]
    assert p.groupby("building_id").size().to_dict() == {"B0": 2, "B1": 4, "B2": 1}
    assert r.set_index("building_id").loc["B3", "roof_planes"] == 0  # flat: rows, as before
    # the planes' heights lie between eave and ridge of the true roofs
    assert p.merge(r[["building_id", "height_m"]], on="building_id")["annual_kwh_unshaded"].gt(0).all()
