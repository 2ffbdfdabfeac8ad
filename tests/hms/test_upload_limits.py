"""How much one percent-area request may hold: vertices, features and zip members.

Past ``QED_MAX_VERTICES`` (default 1,000,000) or ``MAX_FEATURES`` a request is
refused with a 422 that names the field, the count and the limit, for GeoJSON in
the body and for each upload format, before any geometry is built. A zip's size
and ratio caps count every member, also the metadata members that are never read.
"""
from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyogrio
import pytest
import shapely

from flask_qed.model import InputError, Model
from hms_flask import science
from hms_flask.models import percent_area as module
from hms_flask.science import limits, vector_upload
from tests.hms.test_hostile_uploads import REFERENCE, accepted, post, refused, shapefile_parts, zipped

ROOT = Path(__file__).resolve().parents[2]
MODEL = Model.from_module(module)
LIMIT = science.MAX_VERTICES


def ring(positions: int, lon: float = -90.0, lat: float = 35.0, radius: float = 0.3) -> np.ndarray:
    """A closed ring of ``positions`` coordinate positions (the last repeats the first)."""
    t = np.linspace(0, 2 * np.pi, positions - 1, endpoint=False)
    xy = np.column_stack([lon + radius * np.cos(t), lat + radius * np.sin(t)])
    return np.vstack([xy, xy[:1]])


def feature_collection_text(coordinates: bytes) -> bytes:
    """A one-feature FeatureCollection whose Polygon has the given coordinates (JSON text)."""
    return (b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"COMID":1},'
            b'"geometry":{"type":"Polygon","coordinates":' + coordinates + b"}}]}")


def as_json(array: np.ndarray) -> bytes:
    return orjson.dumps(array, option=orjson.OPT_SERIALIZE_NUMPY)


def written(tmp_path: Path, geoms: list[Any], driver: str) -> bytes:
    """Polygons written by GDAL as a GeoPackage or a zipped shapefile."""
    folder = tmp_path / driver.replace(" ", "")
    folder.mkdir()
    name = "c.gpkg" if driver == "GPKG" else "c.shp"
    pyogrio.raw.write(str(folder / name), geometry=shapely.to_wkb(np.array(geoms, dtype=object)),
                      field_data=[np.arange(1, len(geoms) + 1, dtype=np.int64)], fields=["COMID"],
                      geometry_type="MultiPolygon" if len(geoms) == 1 and geoms[0].geom_type == "MultiPolygon"
                      else "Polygon", crs="EPSG:4326", driver=driver)
    if driver == "GPKG":
        return (folder / name).read_bytes()
    return zipped({p.name: p.read_bytes() for p in folder.iterdir()})


# --- vertices --------------------------------------------------------------------------------

@pytest.mark.parametrize("form", ["body", "geojson", "gpkg", "zip"])
def test_one_vertex_past_the_limit_is_422_naming_the_setting(client, tmp_path, form):
    coords = ring(LIMIT + 1)
    if form == "body":
        # The last position is not numbers: had the polygon been built, that would be the error.
        text = as_json(coords[:-1])[:-1] + b',["not","numbers"]]'
        body = b'{"inputs":{"grid":"nldas","geometry":' + feature_collection_text(b"[" + text + b"]") + b"}}"
        response = client.post("/hms/percent_area", data=body, content_type="application/json")
    elif form == "geojson":
        response = post(client, feature_collection_text(b"[" + as_json(coords) + b"]"), "c.geojson")
    else:
        driver = "GPKG" if form == "gpkg" else "ESRI Shapefile"
        response = post(client, written(tmp_path, [shapely.Polygon(coords)], driver), f"c.{form}")
    rule = refused(response)
    assert "QED_MAX_VERTICES" in rule and f"{LIMIT + 1:,} vertices" in rule, rule
    if form == "body":
        assert response.get_json()["errors"][0]["value"] == LIMIT + 1


def test_the_body_is_counted_before_its_polygon_is_built():
    """At the limit exactly the count passes and shapely meets the bad position; one more
    position and the count refuses first."""
    coords = ring(LIMIT).tolist()
    coords[-1] = ["not", "numbers"]
    geometry = {"type": "Polygon", "coordinates": [coords]}
    with pytest.raises(InputError) as err:
        MODEL.validate({"geometry": geometry})
    assert "not a valid GeoJSON geometry" in err.value.errors[0]["rule"]
    coords.append(coords[0])
    with pytest.raises(InputError) as err:
        MODEL.validate({"geometry": geometry})
    assert err.value.errors[0] == {
        "run": None, "field": "geometry", "value": LIMIT + 1,
        "rule": f"the geometry has {LIMIT + 1:,} vertices; at most QED_MAX_VERTICES = {LIMIT:,} per request"}


def test_every_format_counts_the_same_vertices(tmp_path):
    """A polygon with a hole and a second part: the body, a GeoJSON file, a GeoPackage and
    a shapefile all count its positions, closing ones included; the limit is inclusive."""
    holed = shapely.Polygon(ring(41), [ring(9, radius=0.1)[::-1]])
    shape = shapely.MultiPolygon([holed, shapely.Polygon(ring(12, lon=-89))])
    n = shapely.get_num_coordinates(shape)
    assert n == 41 + 9 + 12
    geojson = shapely.geometry.mapping(shape)
    assert limits.count_geojson(geojson, max_vertices=n) == n
    with pytest.raises(limits.GeometryTooLarge) as err:
        limits.count_geojson(geojson, max_vertices=n - 1)
    assert err.value.count == n
    files = {"geojson": orjson.dumps({"type": "Feature", "properties": {}, "geometry": geojson}),
             "gpkg": written(tmp_path, [shape], "GPKG"), "zip": written(tmp_path, [shape], "ESRI Shapefile")}
    for form, data in files.items():
        read = vector_upload.read_vector(data, max_vertices=n)
        assert shapely.get_num_coordinates(shapely.geometry.shape(read["features"][0]["geometry"])) == n
        with pytest.raises(limits.GeometryTooLarge) as err:
            vector_upload.read_vector(data, max_vertices=n - 1)
        assert err.value.count == n and f"{n:,} vertices" in str(err.value), form


def test_geojson_text_is_counted_however_it_is_written():
    """Compact, with spaces, indented: the positions of a GeoJSON file are counted in its
    text; an indented one is counted no further than the limit needs."""
    import json
    feature = {"type": "Feature", "properties": {}, "bbox": [-90.3, 34.7, -89.7, 35.3],
               "geometry": shapely.geometry.mapping(shapely.Polygon(ring(30)))}
    for text, past in ((orjson.dumps(feature), "30 vertices"), (json.dumps(feature).encode(), "30 vertices"),
                       (json.dumps(feature, indent=2).encode(), "more than 29 vertices")):
        assert len(vector_upload.read_vector(text, max_vertices=30)["features"]) == 1   # the bbox not counted
        with pytest.raises(limits.GeometryTooLarge) as err:
            vector_upload.read_vector(text, max_vertices=29)
        assert past in str(err.value), (text[:40], str(err.value))


@pytest.mark.parametrize("geom", [
    shapely.Point(1, 2), shapely.LineString([(0, 0, 1), (1, 1, 2), (2, 0, 3)]),
    shapely.Polygon(ring(20), [ring(5, radius=0.1)]),
    shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)]),
    shapely.GeometryCollection([shapely.Point(0, 0),
                                shapely.MultiLineString([[(0, 0), (1, 1)], [(2, 2), (3, 3)]]),
                                shapely.GeometryCollection([shapely.box(0, 0, 1, 1)])]),
])
def test_wkb_points_are_counted_in_every_flavour(geom):
    """ISO and extended WKB, either byte order, with Z and with an SRID: the counts agree
    with the geometry's own, read from the counts alone."""
    geom = shapely.set_srid(geom, 4326)
    for kwargs in ({"flavor": "iso", "byte_order": 1}, {"flavor": "iso", "byte_order": 0},
                   {"flavor": "extended", "byte_order": 0, "include_srid": True},
                   {"flavor": "iso", "output_dimension": 3}):
        assert limits.count_wkb(shapely.to_wkb(geom, **kwargs)) == shapely.get_num_coordinates(geom)


def test_wkb_that_claims_more_than_it_holds_is_refused_at_once():
    lying = struct.pack("<BII", 1, 3, 2**32 - 1) + struct.pack("<I", 5) + b"\0" * 16   # 4 billion rings
    with pytest.raises(ValueError, match="truncated"):
        limits.count_wkb(lying)
    with pytest.raises(ValueError, match="unknown"):
        limits.count_wkb(struct.pack("<BI", 1, 99))


def test_the_setting_is_read_from_the_environment():
    code = ("from flask_qed.model import InputError, Model\n"
            "from hms_flask.models import percent_area\n"
            "square = {'type': 'Polygon',\n"
            "          'coordinates': [[[-90, 35], [-89.9, 35], [-89.9, 35.1], [-90, 35]]]}\n"
            "model = Model.from_module(percent_area)\n"
            "try:\n"
            "    model.validate({'geometry': square})\n"
            "except InputError as exc:\n"
            "    print(exc.errors[0]['rule'])\n")

    def run(value: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "QED_MAX_VERTICES": value}
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                              cwd=ROOT, timeout=120)

    out = run("3")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "the geometry has 4 vertices; at most QED_MAX_VERTICES = 3 per request"
    assert run("4").stdout == ""
    for bad in ("many", "0"):
        out = run(bad)
        assert out.returncode != 0 and "QED_MAX_VERTICES must be" in out.stderr


# --- features --------------------------------------------------------------------------------

def test_one_feature_past_the_limit_is_422(client, tmp_path):
    count = science.MAX_FEATURES + 1
    boxes = [shapely.box(-100 + (i % 400) * 0.01, 35 + (i // 400) * 0.01, -100 + (i % 400) * 0.01 + 0.005,
                         35 + (i // 400) * 0.01 + 0.005) for i in range(count)]
    features = [{"type": "Feature", "properties": {"COMID": i}, "geometry": shapely.geometry.mapping(b)}
                for i, b in enumerate(boxes)]
    geometry = {"type": "FeatureCollection", "features": features}
    response = client.post("/hms/percent_area", json={"inputs": {"geometry": geometry, "grid": "nldas"}})
    rule = refused(response)
    assert f"{count:,} features" in rule and f"MAX_FEATURES = {science.MAX_FEATURES:,}" in rule, rule
    assert response.get_json()["errors"][0]["value"] == count
    shapefile = written(tmp_path, boxes, "ESRI Shapefile")
    for content, name in ((orjson.dumps(geometry), "c.geojson"), (shapefile, "c.zip")):
        rule = refused(post(client, content, name))
        assert f"{count:,} features" in rule and "MAX_FEATURES" in rule, (name, rule)


# --- zip members that are never read -------------------------------------------------------------

def small_shapefile(tmp_path: Path) -> dict[str, bytes]:
    """The test shapefile's .shp, .shx, .dbf and .prj: room for 60 more members."""
    return {k: v for k, v in shapefile_parts(tmp_path).items() if not k.endswith(".cpg")}


def with_members(parts: dict[str, bytes], members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in {**parts, **members}.items():
            zf.writestr(name, content)
    return buf.getvalue()


def test_skipped_members_count_against_the_ratio(client, tmp_path):
    """60 .shp.xml metadata files of 3 MiB, compressed about 1000:1: never read, still refused."""
    parts = small_shapefile(tmp_path)
    xml = b"<metadata>" + b" " * (3 * 2**20) + b"</metadata>"
    bomb = with_members(parts, {f"c{i}.shp.xml": xml for i in range(60)})
    assert len(bomb) < 2 * 2**20
    info = zipfile.ZipFile(io.BytesIO(bomb)).getinfo("c0.shp.xml")
    assert info.file_size > vector_upload.MAX_RATIO * info.compress_size
    rule = refused(post(client, bomb, "c.zip"))
    assert f"more than {vector_upload.MAX_RATIO}:1" in rule, rule
    # The same shapefile without them is read.
    data = accepted(client, post(client, zipped(parts), "c.zip"))
    assert set(data["geometry"]) == {str(f["properties"]["COMID"]) for f in REFERENCE["features"]}


def test_skipped_members_count_against_the_unpacked_size(client, tmp_path):
    """Resource forks and metadata compressed 40:1 (under the ratio cap), 135 MiB together."""
    parts = small_shapefile(tmp_path)
    rng = np.random.default_rng(7)
    block = b"".join(rng.bytes(100) + bytes(4096 - 100) for _ in range(64))   # deflates about 40:1
    member = block * 9   # 2.25 MiB
    names = [f"__MACOSX/._c{i}.shp" if i % 2 else f"meta/c{i}.shp.xml" for i in range(60)]
    bulky = with_members(parts, {name: member for name in names})
    infos = zipfile.ZipFile(io.BytesIO(bulky)).infolist()
    assert sum(i.file_size for i in infos) > vector_upload.MAX_UNCOMPRESSED
    assert all(i.file_size <= vector_upload.MAX_RATIO * i.compress_size for i in infos)
    rule = refused(post(client, bulky, "c.zip"))
    assert f"more than {vector_upload.MAX_UNCOMPRESSED // 2**20} MiB" in rule, rule
    # A few of them, well within the caps, are skipped as before.
    few = with_members(parts, {name: member for name in names[:4]})
    assert len(accepted(client, post(client, few, "c.zip"))["geometry"]) == 2


# --- what a job keeps ------------------------------------------------------------------------------

def test_a_job_keeps_its_catchments_as_wkb_and_runs_either_form():
    """Validated inputs hold the checked catchments as WKB (a few strings, not a Python list
    per vertex); a job stored as GeoJSON by an earlier version runs the same; a client
    cannot send the stored form itself."""
    geojson = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"COMID": comid}, "geometry": shapely.geometry.mapping(shape)}
        for comid, shape in ((7, shapely.Polygon(ring(500))), (8, shapely.box(-89, 35, -88.9, 35.1)))]}
    validated = MODEL.validate({"geometry": geojson, "grid": "nldas"})
    stored = orjson.loads(orjson.dumps(validated))
    assert stored["geometry"]["ids"] == ["7", "8"]
    assert all(isinstance(w, str) for w in stored["geometry"]["wkb"])
    assert len(orjson.dumps(stored)) < len(orjson.dumps(geojson))
    assert MODEL.run(stored) == MODEL.run({"geometry": geojson, "grid": "nldas"})
    with pytest.raises(InputError) as err:
        MODEL.validate({"geometry": MODEL.validate({"geometry": geojson})["geometry"]})
    assert "GeoJSON" in err.value.errors[0]["rule"]
