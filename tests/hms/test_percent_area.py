"""percent_area: known answers, file uploads and validation (run as the worker does)."""
from __future__ import annotations

import io
import math
import zipfile

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from flask_qed.model import InputError, Model
from hms_flask.models import percent_area as module

MODEL = Model.from_module(module)


def run(geometry, grid="nldas"):
    return MODEL.run(MODEL.validate({"geometry": geometry, "grid": grid}))


def mapping(geom):
    return shapely.geometry.mapping(geom)


def ellipsoid_cell_km2(west, south, east, north, a=6378137.0, f=1 / 298.257222101):
    """Exact area of a lon/lat rectangle on the GRS80 ellipsoid (authalic latitude formula)."""
    e2 = f * (2 - f)
    e = math.sqrt(e2)

    def q(phi):
        s = math.sin(math.radians(phi))
        return s / (1 - e2 * s * s) - math.log((1 - e * s) / (1 + e * s)) / (2 * e)

    return a * a * (1 - e2) / 2 * math.radians(east - west) * (q(north) - q(south)) / 1e6


def irregular_catchment(lon0=-84.3, lat0=33.9, radius_km=10.0, n=180):
    """A plausible lobed, non-convex catchment outline of about 300 km²."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = radius_km * (1 + 0.25 * np.sin(3 * t) + 0.12 * np.cos(7 * t + 1.0) + 0.05 * np.sin(13 * t))
    dlat = r / 111.0 * np.sin(t)
    dlon = r / (111.0 * math.cos(math.radians(lat0))) * np.cos(t)
    return shapely.Polygon(np.column_stack([lon0 + dlon, lat0 + dlat]))


def test_one_nldas_cell_is_that_cell_at_100_percent():
    # The NLDAS cell centred at 89.9375W, 35.0625N.
    cell = shapely.box(-90.0, 35.0, -89.875, 35.125)
    points = run(mapping(cell))["geometry"]["0"]["points"]
    assert len(points) == 1
    p = points[0]
    assert (p["longitude"], p["latitude"]) == (-89.9375, 35.0625)
    assert p["percentArea"] == pytest.approx(100.0, abs=1e-9)
    assert p["percentCatchment"] == pytest.approx(100.0, abs=1e-9)
    assert p["containedArea"] == pytest.approx(p["cellArea"], rel=1e-12)
    # The equal-area cell area matches the exact ellipsoidal area of the cell.
    assert p["cellArea"] == pytest.approx(ellipsoid_cell_km2(-90.0, 35.0, -89.875, 35.125), rel=1e-6)


def test_square_on_a_cell_corner_splits_into_four_quarters():
    # On the equator (GLDAS corner at 0E, 0N) the four quarters are equal by symmetry.
    square = shapely.box(-0.1, -0.1, 0.1, 0.1)
    points = run(mapping(square), "gldas")["geometry"]["0"]["points"]
    assert len(points) == 4
    assert sorted((p["longitude"], p["latitude"]) for p in points) == \
        [(-0.125, -0.125), (-0.125, 0.125), (0.125, -0.125), (0.125, 0.125)]
    for p in points:
        assert p["percentCatchment"] == pytest.approx(25.0, abs=1e-9)
        assert p["percentArea"] == pytest.approx(16.0, rel=1e-4)  # (0.1/0.25)^2 of the cell
    # At 35N (NLDAS corner 90W, 35N) each quarter is ~25 %, the southern ones a
    # little larger (longer parallels), east/west mirror images, total 100 %.
    points = run(mapping(shapely.box(-90.05, 34.95, -89.95, 35.05)))["geometry"]["0"]["points"]
    assert len(points) == 4
    share = {(p["longitude"], p["latitude"]): p["percentCatchment"] for p in points}
    assert sum(share.values()) == pytest.approx(100.0, abs=1e-9)
    for value in share.values():
        assert value == pytest.approx(25.0, abs=0.02)
    assert share[(-90.0625, 34.9375)] == pytest.approx(share[(-89.9375, 34.9375)], rel=1e-9)
    assert share[(-90.0625, 34.9375)] > share[(-90.0625, 35.0625)]


def test_contained_areas_of_a_real_shaped_catchment_sum_to_its_area():
    catchment = irregular_catchment()
    result = run({"type": "Feature", "properties": {"COMID": 2046063}, "geometry": mapping(catchment)})
    points = result["geometry"]["2046063"]["points"]
    # Independent equal-area (CONUS Albers) area of the densified outline.
    to_albers = Transformer.from_crs("EPSG:4326", "EPSG:5070", always_xy=True)
    dense = shapely.segmentize(catchment, 0.001)
    x, y = to_albers.transform(*np.asarray(dense.exterior.coords).T)
    own_km2 = shapely.Polygon(np.column_stack([x, y])).area / 1e6
    assert 250 < own_km2 < 350
    assert len(points) > 4
    assert sum(p["containedArea"] for p in points) == pytest.approx(own_km2, rel=1e-6)
    assert sum(p["percentCatchment"] for p in points) == pytest.approx(100.0, rel=1e-9)
    for p in points:
        assert 0 < p["percentArea"] <= 100 + 1e-9
        assert p["containedArea"] == pytest.approx(p["cellArea"] * p["percentArea"] / 100, rel=1e-12)
    assert result["metadata"]["projection"] == "EPSG:5070"
    assert result["metadata"]["number of points"] == len(points)


def test_feature_crossing_the_grid_edge_reports_only_existing_cells():
    crossing = shapely.box(-125.2, 40.01, -124.8, 40.2)   # NLDAS west edge is 125W
    inside = shapely.box(-125.0, 40.01, -124.8, 40.2)
    got = run(mapping(crossing))["geometry"]["0"]["points"]
    ref = run(mapping(inside))["geometry"]["0"]["points"]
    assert sorted((p["longitude"], p["latitude"]) for p in got) == \
        [(-124.9375, 40.0625), (-124.9375, 40.1875), (-124.8125, 40.0625), (-124.8125, 40.1875)]
    for a, b in zip(got, ref):
        assert a["containedArea"] == pytest.approx(b["containedArea"], rel=1e-9)
    # Half the catchment lies west of the grid, and the metadata says so.
    assert sum(p["percentCatchment"] for p in got) == pytest.approx(50.0, abs=0.5)
    inside_share = run(mapping(crossing))["metadata"]["percent of catchment inside the grid"]["0"]
    assert inside_share == pytest.approx(sum(p["percentCatchment"] for p in got), rel=1e-9)


def test_a_tiny_catchment_is_kept_whole():
    tiny = shapely.box(-90.0, 35.0, -90.0 + 1e-6, 35.0 + 1e-6)   # about 0.01 m2
    points = run(mapping(tiny))["geometry"]["0"]["points"]
    assert len(points) == 1 and points[0]["percentCatchment"] == pytest.approx(100, rel=1e-4)


def _catchments():
    return [irregular_catchment(-84.3, 33.9, 6.0), irregular_catchment(-84.1, 34.05, 4.0)]


def _write(tmp_path, name, driver, crs="EPSG:4326", geoms=None):
    from pyogrio import raw
    geoms = _catchments() if geoms is None else geoms
    raw.write(str(tmp_path / name), geometry=shapely.to_wkb(np.array(geoms)),
              field_data=[np.array([101, 202])], fields=["COMID"], geometry_type="Polygon",
              crs=crs, driver=driver)


def _zip(folder, stem):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in folder.glob(stem + ".*"):
            if path.suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"):  # a zip holding more is refused
                zf.write(path, path.name)
    return buf.getvalue()


def _points(result):
    return {fid: [(p["longitude"], p["latitude"], p["containedArea"], p["percentArea"],
                   p["percentCatchment"]) for p in feat["points"]]
            for fid, feat in result["geometry"].items()}


def _same(a, b, rel):
    assert a.keys() == b.keys() == {"101", "202"}
    for fid in a:
        assert len(a[fid]) == len(b[fid]) > 0
        for pa, pb in zip(a[fid], b[fid]):
            assert pa[:2] == pb[:2]
            assert pa[2:] == pytest.approx(pb[2:], rel=rel)


def test_zipped_shapefile_geopackage_and_geojson_give_identical_results(tmp_path):
    _write(tmp_path, "c.shp", "ESRI Shapefile")
    _write(tmp_path, "c.geojson", "GeoJSON")
    _write(tmp_path, "c.gpkg", "GPKG")
    from_zip = MODEL.read_upload(_zip(tmp_path, "c"), "catchments.zip")
    from_json = MODEL.read_upload((tmp_path / "c.geojson").read_bytes(), "c.geojson")
    from_gpkg = MODEL.read_upload((tmp_path / "c.gpkg").read_bytes(), "c.gpkg")
    body = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"COMID": cid}, "geometry": mapping(g)}
        for cid, g in zip((101, 202), _catchments())]}
    reference = _points(run(body))
    _same(_points(run(from_zip)), reference, rel=0)        # shapefile keeps every bit
    _same(_points(run(from_gpkg)), reference, rel=0)
    _same(_points(run(from_json)), reference, rel=1e-9)    # GeoJSON text: 15 digits


def test_upload_in_another_crs_is_reprojected(tmp_path):
    to_albers = Transformer.from_crs("EPSG:4326", "EPSG:5070", always_xy=True)
    projected = [shapely.transform(g, lambda xy: np.column_stack(to_albers.transform(xy[:, 0], xy[:, 1])))
                 for g in _catchments()]
    _write(tmp_path, "p.shp", "ESRI Shapefile", crs="EPSG:5070", geoms=projected)
    fc = MODEL.read_upload(_zip(tmp_path, "p"), "p.zip")
    body = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"COMID": cid}, "geometry": mapping(g)}
        for cid, g in zip((101, 202), _catchments())]}
    _same(_points(run(fc)), _points(run(body)), rel=1e-6)


def test_prism_grid_cells_are_one_24th_degree():
    cell = shapely.box(-100.0 - 1 / 48, 40.0 - 1 / 48, -100.0 + 1 / 48, 40.0 + 1 / 48)
    points = run(mapping(cell), "prism")["geometry"]["0"]["points"]
    assert len(points) == 1
    assert points[0]["longitude"] == pytest.approx(-100.0, abs=1e-9)
    assert points[0]["latitude"] == pytest.approx(40.0, abs=1e-9)
    assert points[0]["percentArea"] == pytest.approx(100.0, abs=1e-6)


def _rule(inputs):
    with pytest.raises(InputError) as err:
        MODEL.validate(inputs)
    return " ".join(e["rule"] for e in err.value.errors)


def test_validation_errors():
    box = mapping(shapely.box(-90, 35, -89.9, 35.1))
    assert "empty" in _rule({"geometry": {"type": "Polygon", "coordinates": []}})
    bowtie = {"type": "Polygon", "coordinates": [[[-90, 35], [-89.9, 35.1], [-89.9, 35], [-90, 35.1], [-90, 35]]]}
    assert "Self-intersection" in _rule({"geometry": bowtie})
    square = [[-90, 35], [-89.9, 35], [-89.9, 35.1], [-90, 35.1], [-90, 35]]
    for odd, shown in ((True, "true"), ("-90", '"-90"'), (None, "null")):  # positions are numbers
        ring = [[odd, 35], *square[1:-1], [odd, 35]]
        assert f"coordinates must be numbers, not {shown}" in _rule({"geometry": {"type": "Polygon",
                                                                                  "coordinates": [ring]}})
    with pytest.raises(InputError) as err:  # the check of the whole run names the geometry, as JSON
        MODEL.validate({"geometry": bowtie})
    [error] = err.value.errors
    assert error["field"] == "geometry" and error["value"].startswith('{"type": "Polygon", "coordinates": [[[-90')
    assert "outside the nldas grid" in _rule({"geometry": mapping(shapely.box(2.0, 48.0, 2.5, 48.5))})
    assert "outside the prism grid" in _rule({"geometry": mapping(shapely.box(-66.4, 45, -66.3, 45.1)),
                                              "grid": "prism"})
    assert "nldas" in _rule({"geometry": box, "grid": "daymet"})
    conus = mapping(shapely.box(-124, 26, -68, 52))
    assert f"at most {module.MAX_CELLS}" in _rule({"geometry": conus})
    assert "Polygon or MultiPolygon" in _rule({"geometry": {"type": "Point", "coordinates": [-90, 35]}})
    dup = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"COMID": 1}, "geometry": box}] * 2}
    assert "more than once" in _rule({"geometry": dup})
    with pytest.raises(ValueError):
        MODEL.read_upload(b"not a vector file", "x.zip")


def test_hand_written_geojson_upload_without_a_layer_name():
    """GDAL names a GeoJSON layer after its file; a FeatureCollection without "name" must read."""
    import json
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"ComID": 42}, "geometry": mapping(shapely.box(-90, 35, -89.875, 35.125))}]}
    uploaded = MODEL.read_upload(json.dumps(fc).encode(), "catchment.geojson")
    points = run(uploaded)["geometry"]["42"]["points"]  # id attribute matched ignoring case
    assert len(points) == 1 and points[0]["percentArea"] == pytest.approx(100, abs=1e-9)


def test_antimeridian_catchments_must_be_split():
    across = mapping(shapely.box(179.5, 60, 180.5, 60.5))
    assert "antimeridian" in _rule({"geometry": across, "grid": "gldas"})
    split = mapping(shapely.MultiPolygon([shapely.box(179.5, 60, 180, 60.5), shapely.box(-180, 60, -179.5, 60.5)]))
    points = run(split, "gldas")["geometry"]["0"]["points"]
    assert len(points) == 8
    assert sum(p["percentCatchment"] for p in points) == pytest.approx(100, rel=1e-9)
    # Candidate cells come from each part's box, not one box around the world.
    wide = shapely.MultiPolygon([shapely.box(175, 50, 180, 60), shapely.box(-180, 50, -175, 60)])
    assert module.science().estimate_cells(module.science().parse_geojson(mapping(wide)),
                                           module.grid("gldas")) == 2 * 20 * 40


def test_geometry_libraries_load_on_first_use(tmp_path):
    """The gateway and the worker start without shapely and pyproj (about 14 MB a process);
    the first percent-area job loads them, through the declaration's two named functions
    ``science()`` and ``grid()`` (no hidden module attributes)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys\n"
        "import celery_cgi, flask_cgi\n"
        "geo = ('shapely', 'pyproj')\n"
        "print(sorted(m for m in geo if m in sys.modules))\n"
        "from hms_flask.models import percent_area\n"
        "print(percent_area.MAX_CELLS == percent_area.science().MAX_CELLS,\n"
        "      sorted(n for n in ('nldas', 'gldas', 'prism') if percent_area.grid(n)))\n"
        "print(sorted(m for m in geo if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("QED_")}
    env.update(QED_STORE_URL=f"sqlite:///{tmp_path}/jobs.sqlite3", QED_BROKER_URL="redis://127.0.0.1:9/0",
               QED_INSTANCE_PATH=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["[]", "True ['gldas', 'nldas', 'prism']", "['pyproj', 'shapely']"]
    assert not hasattr(module, "__getattr__")  # imported on first use by name, not behind attributes
