"""Hostile uploads to hms.percent_area: refused with a 4xx JSON answer that leaks nothing.

Every test goes through the HTTP API of the gateway with a real worker. The
attacks are real: where a file would make GDAL read a local file or fetch a
URL, the test first shows that GDAL, given the same bytes directly, does so;
then that the gateway refuses them, that the answer carries no server text,
and that the test's HTTP server received no request.
"""
from __future__ import annotations

import http.server
import io
import sqlite3
import threading
import warnings
import zipfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import orjson
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import mapping

from hms_flask.science import vector_upload
from tests.conftest import wait_for

MARKER = "SECRET-MARKER-4c1d9e"
LEAKS = ("/etc", "/tmp", "/work", "vsimem", "GDAL", "gdal", "sqlite", MARKER)
CORNER = shapely.box(-90.0625, 34.9375, -89.9375, 35.0625)   # four NLDAS quarter cells
SECOND = shapely.box(-89.8, 35.2, -89.7, 35.3)


# --- fixtures and helpers ----------------------------------------------------------------

class Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str]

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.requests.append(self.path)
        body = f"name,value\nleak,{MARKER}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[dict[str, Any]]:
    """A local HTTP server that records every request it gets."""
    handler = type("Handler", (Recorder,), {"requests": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{httpd.server_address[1]}", "requests": handler.requests}
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture()
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.csv"
    path.write_text(f"name,value\nleak,{MARKER}\n")
    return path


def post(client: Any, content: bytes, filename: str) -> Any:
    return client.post("/hms/percent_area", content_type="multipart/form-data",
                       data={"grid": "nldas", "geometry": (io.BytesIO(content), filename)})


def refused(response: Any, status: int = 422) -> str:
    """Assert a JSON 4xx answer naming the geometry field and leaking nothing; its rule text."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_data(as_text=True)
    for word in LEAKS:
        assert word not in body, (word, body)
    if status == 413:   # refused before the upload is read: no field to name
        return response.get_json()["message"]
    errors = response.get_json()["errors"]
    assert errors[0]["field"] == "geometry"
    return errors[0]["rule"]


def accepted(client: Any, response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.get_json()
    record = wait_for(client, response.get_json()["job_id"], prefix="/hms")
    assert record["status"] == "SUCCESS", record.get("error")
    return record["data"]


def vrt(source: str, layer: str) -> bytes:
    """A GDAL virtual dataset whose one layer is ``layer`` of ``source``."""
    return (f'<OGRVRTDataSource><OGRVRTLayer name="leak"><SrcDataSource>{source}</SrcDataSource>'
            f'<SrcLayer>{layer}</SrcLayer></OGRVRTLayer></OGRVRTDataSource>').encode()


def shapefile_parts(tmp_path: Path, geoms: list[Any] | None = None, crs: str = "EPSG:4326",
                    stem: str = "c") -> dict[str, bytes]:
    folder = tmp_path / f"shp-{stem}"
    folder.mkdir(exist_ok=True)
    geoms = [CORNER, SECOND] if geoms is None else geoms
    pyogrio.raw.write(str(folder / f"{stem}.shp"), geometry=shapely.to_wkb(np.array(geoms, dtype=object)),
                      field_data=[np.arange(101, 101 + len(geoms), dtype=np.int64)], fields=["COMID"],
                      geometry_type="Polygon", crs=crs, driver="ESRI Shapefile")
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def zipped(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buf.getvalue()


def geopackage(tmp_path: Path, name: str = "c.gpkg", crs: str = "EPSG:4326",
               geoms: list[Any] | None = None) -> Path:
    path = tmp_path / name
    geoms = [CORNER, SECOND] if geoms is None else geoms
    pyogrio.raw.write(str(path), geometry=shapely.to_wkb(np.array(geoms, dtype=object)),
                      field_data=[np.arange(101, 101 + len(geoms), dtype=np.int64)], fields=["COMID"],
                      geometry_type="Polygon", crs=crs, driver="GPKG", layer="c")
    return path


REFERENCE = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"COMID": 101}, "geometry": mapping(CORNER)},
    {"type": "Feature", "properties": {"COMID": 102}, "geometry": mapping(SECOND)}]}


def points(data: dict[str, Any]) -> dict[str, list[tuple]]:
    return {fid: sorted((p["longitude"], p["latitude"], p["containedArea"], p["percentCatchment"])
                        for p in feat["points"]) for fid, feat in data["geometry"].items()}


def same(a: dict[str, list[tuple]], b: dict[str, list[tuple]], rel: float) -> None:
    assert a.keys() == b.keys() == {"101", "102"}
    for fid in a:
        assert len(a[fid]) == len(b[fid]) > 0
        for pa, pb in zip(a[fid], b[fid]):
            assert pa[:2] == pb[:2] and pa[2:] == pytest.approx(pb[2:], rel=rel)


@pytest.fixture()
def reference(client: Any) -> dict[str, list[tuple]]:
    response = client.post("/hms/percent_area", json={"inputs": {"geometry": REFERENCE, "grid": "nldas"}})
    return points(accepted(client, response))


# --- files that point outside themselves -----------------------------------------------

def test_vrt_reading_a_local_file_is_refused(client, secret):
    attack = vrt(f"CSV:{secret}", "secret")
    # The attack is real: GDAL given these bytes reads the file.
    _, _, _, fields = pyogrio.raw.read(attack, read_geometry=False)
    assert MARKER in [str(v) for column in fields for v in column]
    for filename in ("leak.vrt", "catchments.gpkg", "catchments.zip", "catchments.geojson", "c.shp"):
        rule = refused(post(client, attack, filename))
        assert "zipped shapefile, a GeoPackage or a GeoJSON" in rule


def test_vrt_fetching_a_url_is_refused_and_nothing_is_fetched(client, server):
    attack = vrt(f"/vsicurl/{server['url']}/data.csv", "data")
    with warnings.catch_warnings():   # GDAL given these bytes fetches the URL and returns it ...
        warnings.simplefilter("ignore")
        _, _, _, fields = pyogrio.raw.read(attack, read_geometry=False)
    assert MARKER in [str(v) for column in fields for v in column]
    assert server["requests"], "the test server should see GDAL's request"
    server["requests"].clear()
    for filename in ("leak.vrt", "catchments.zip"):
        refused(post(client, attack, filename))
    assert server["requests"] == []   # ... the gateway does not


def test_geojson_linking_a_url_is_refused_and_nothing_is_fetched(client, server):
    linked = dict(REFERENCE, crs={"type": "link", "properties": {"href": f"{server['url']}/crs.wkt",
                                                                    "type": "ogcwkt"}})
    rule = refused(post(client, orjson.dumps(linked), "c.geojson"))
    assert "links are not followed" in rule
    odd_name = dict(REFERENCE, crs={"type": "name", "properties": {"name": f"{server['url']}/crs"}})
    refused(post(client, orjson.dumps(odd_name), "c.geojson"))
    refused(post(client, f"{server['url']}/c.geojson".encode(), "c.geojson"))
    assert server["requests"] == []


def grid_file_crs(url: str) -> str:
    """WKT2 of a CRS whose datum shift is read from a grid file at ``url``."""
    geog = ('GEOGCRS["{}",DATUM["{}",ELLIPSOID["{}",6378137,{}]],CS[ellipsoidal,2],'
            'AXIS["lon",east,ANGLEUNIT["degree",0.0174532925199433]],'
            'AXIS["lat",north,ANGLEUNIT["degree",0.0174532925199433]]]')
    return (f'BOUNDCRS[SOURCECRS[{geog.format("x", "d", "GRS 1980", 298.257222101)}],'
            f'TARGETCRS[{geog.format("WGS 84", "World Geodetic System 1984", "WGS 84", 298.257223563)}],'
            'ABRIDGEDTRANSFORMATION["t",METHOD["NTv2"],'
            f'PARAMETERFILE["Latitude and longitude difference file","{url}/grid.gsb"]]]')


def test_crs_naming_a_grid_file_fetches_nothing(client, server, tmp_path):
    # A GeoPackage whose layer CRS names a grid file on the test server: refused.
    path = geopackage(tmp_path)
    with sqlite3.connect(path) as con:
        con.execute("INSERT INTO gpkg_spatial_ref_sys (srs_name, srs_id, organization, "
                    "organization_coordsys_id, definition) VALUES ('x', 990001, 'NONE', 990001, ?)",
                    (grid_file_crs(server["url"]),))
        con.execute("UPDATE gpkg_geometry_columns SET srs_id = 990001")
    assert "outside file" in refused(post(client, path.read_bytes(), "c.gpkg"))
    # A shapefile whose .prj does: GDAL does not keep such a .prj, so the layer
    # is read without a CRS (as longitude/latitude), and nothing is fetched.
    parts = shapefile_parts(tmp_path)
    parts["c.prj"] = grid_file_crs(server["url"]).encode()
    accepted(client, post(client, zipped(parts), "c.zip"))
    assert server["requests"] == []


# --- zip archives ----------------------------------------------------------------------

def test_zip_bomb_is_refused(client, tmp_path):
    members = shapefile_parts(tmp_path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in members.items():
            if name != "c.cpg":
                zf.writestr(name, content)
        info = zipfile.ZipInfo("c.cpg")
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as member:   # zeros: beyond the size cap
            chunk = b"\0" * 2**20
            for _ in range(vector_upload.MAX_UNCOMPRESSED // 2**20 + 16):
                member.write(chunk)
    bomb = buf.getvalue()
    assert len(bomb) < 2 * 2**20
    assert "MiB" in refused(post(client, bomb, "c.zip"))
    # Smaller than the cap, but compressed a thousand to one: refused by the ratio rule.
    ratio_bomb = zipped({**members, "c.cpg": b"\0" * 20 * 2**20})
    assert "compressed" in refused(post(client, ratio_bomb, "c.zip"))


def test_zip_with_a_symlink_is_refused(client, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in shapefile_parts(tmp_path).items():
            if name != "c.dbf":
                zf.writestr(name, content)
        link = zipfile.ZipInfo("c.dbf")
        link.external_attr = (0o120777 << 16)   # a symbolic link, pointing at a server file
        zf.writestr(link, "/etc/passwd")
    assert "symbolic link" in refused(post(client, buf.getvalue(), "c.zip"))


@pytest.mark.parametrize("prefix", ["../", "../../tmp/", "/", "a/../../", "C:/"])
def test_zip_with_a_member_leaving_the_archive_is_refused(client, tmp_path, prefix):
    parts = shapefile_parts(tmp_path)
    attack = zipped({prefix + name: content for name, content in parts.items()})
    assert "leaves the archive" in refused(post(client, attack, "c.zip"))


def test_zip_holding_anything_but_a_shapefile_is_refused(client, tmp_path, secret):
    parts = shapefile_parts(tmp_path)
    cases = {
        "vrt": {**parts, "leak.vrt": vrt(f"CSV:{secret}", "secret")},
        "csv": {"leak.csv": secret.read_bytes()},
        "kml": {"doc.kml": b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"/>'},
        "nested zip": {"inner.zip": zipped(parts)},
        "vrt disguised as .shp": {**parts, "c.shp": vrt(f"CSV:{secret}", "secret")},
        "vrt disguised as .prj": {**parts, "c.prj": vrt(f"CSV:{secret}", "secret")},
        "no .dbf": {k: v for k, v in parts.items() if not k.endswith(".dbf")},
        "empty": {},
    }
    for case, members in cases.items():
        rule = refused(post(client, zipped(members), "c.zip"))
        assert rule, case


def test_too_many_members_and_damaged_zip_are_refused(client, tmp_path):
    parts = shapefile_parts(tmp_path)
    many = {f"d{i}/c.xml": b"<x/>" for i in range(vector_upload.MAX_MEMBERS)}
    assert "members" in refused(post(client, zipped({**parts, **many}), "c.zip"))
    good = zipped(parts)
    refused(post(client, good[: len(good) // 2], "c.zip"))


# --- GeoPackages -----------------------------------------------------------------------

def test_attribute_only_and_empty_geopackages_are_422(client, tmp_path):
    path = tmp_path / "attributes.gpkg"
    pyogrio.raw.write(str(path), geometry=None, field_data=[np.array([1, 2])], fields=["COMID"],
                      driver="GPKG")
    assert "no layer with geometries" in refused(post(client, path.read_bytes(), "a.gpkg"))
    empty = geopackage(tmp_path, "empty.gpkg", geoms=[])
    assert "no features" in refused(post(client, empty.read_bytes(), "e.gpkg"))


def test_geopackage_with_a_trigger_is_refused(client, tmp_path):
    path = geopackage(tmp_path)
    with sqlite3.connect(path) as con:
        con.execute("CREATE TRIGGER leak AFTER INSERT ON c BEGIN "
                    "UPDATE gpkg_contents SET description = 'x'; END")
    assert "trigger" in refused(post(client, path.read_bytes(), "c.gpkg"))


def test_geopackage_with_a_view_over_another_file_is_refused(client, tmp_path, secret):
    path = geopackage(tmp_path)
    with sqlite3.connect(path) as con:
        # A virtual table that would open the secret file through GDAL's SQLite,
        # and a view over it registered as the first feature layer.
        con.execute("PRAGMA writable_schema = ON")
        con.execute("INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES "
                    "('table', 'outside', 'outside', 0, ?)",
                    (f"CREATE VIRTUAL TABLE outside USING VirtualOGR('{secret}')",))
        con.execute("INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES "
                    "('view', 'leak', 'leak', 0, 'CREATE VIEW leak AS SELECT * FROM outside')")
        con.execute("PRAGMA writable_schema = OFF")
        con.execute("UPDATE gpkg_contents SET table_name = 'leak' WHERE table_name = 'c'")
        con.execute("UPDATE gpkg_geometry_columns SET table_name = 'leak' WHERE table_name = 'c'")
    refused(post(client, path.read_bytes(), "c.gpkg"))
    # A plain view (no virtual table) is refused as well: only tables are read.
    path = geopackage(tmp_path, "view.gpkg")
    with sqlite3.connect(path) as con:
        con.execute("CREATE VIEW v AS SELECT * FROM c")
    assert "view" in refused(post(client, path.read_bytes(), "v.gpkg"))


def test_plain_sqlite_and_garbage_are_refused(client, tmp_path):
    path = tmp_path / "plain.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE t (x)")
    refused(post(client, path.read_bytes(), "c.gpkg"))
    refused(post(client, b"\x00" * 200, "c.gpkg"))
    refused(post(client, b"", "c.gpkg"))
    refused(post(client, b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"/>', "c.kml"))
    refused(post(client, b"name,wkt\nx,POLYGON((0 0,1 0,1 1,0 0))\n", "c.csv"))
    damaged = geopackage(tmp_path).read_bytes()
    refused(post(client, damaged[:200] + b"\xff" * 4000, "c.gpkg"))


# --- the accepted formats still work -----------------------------------------------------

def test_zipped_shapefile_gives_the_geojson_answer(client, tmp_path, reference):
    parts = shapefile_parts(tmp_path)
    same(points(accepted(client, post(client, zipped(parts), "c.zip"))), reference, rel=0)
    # In a folder, with the metadata files shapefile tools add, named anything.
    extra = {f"catchments/{k}": v for k, v in parts.items()} | {"catchments/c.shp.xml": b"<metadata/>"}
    same(points(accepted(client, post(client, zipped(extra, zipfile.ZIP_STORED), "upload.bin"))),
         reference, rel=0)


def test_geopackage_gives_the_geojson_answer(client, tmp_path, reference):
    path = geopackage(tmp_path)
    same(points(accepted(client, post(client, path.read_bytes(), "c.gpkg"))), reference, rel=0)
    # In another CRS: reprojected to longitude/latitude.
    to_albers = Transformer.from_crs("EPSG:4326", "EPSG:5070", always_xy=True)
    projected = [shapely.transform(g, lambda xy: np.column_stack(to_albers.transform(xy[:, 0], xy[:, 1])))
                 for g in (CORNER, SECOND)]
    path = geopackage(tmp_path, "albers.gpkg", crs="EPSG:5070", geoms=projected)
    same(points(accepted(client, post(client, path.read_bytes(), "whatever.zip"))), reference, rel=1e-6)


def test_geojson_file_gives_the_geojson_answer(client, reference):
    text = orjson.dumps(REFERENCE)
    same(points(accepted(client, post(client, text, "c.geojson"))), reference, rel=0)
    named = dict(REFERENCE, crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}})
    same(points(accepted(client, post(client, b"\xef\xbb\xbf" + orjson.dumps(named), "c.json"))),
         reference, rel=0)


def test_gdal_lockdown_keeps_vsicurl_off_the_network(server):
    """The second line of defence on its own: even a VRT handed to GDAL inside
    the shapefile reader's configuration cannot fetch, and the configuration
    is restored afterwards."""
    attack = vrt(f"/vsicurl/{server['url']}/other.csv", "other")
    before = pyogrio.get_gdal_config_option("CPL_VSIL_CURL_ALLOWED_EXTENSIONS")
    with vector_upload._gdal_locked_down(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception):
            pyogrio.raw.read(attack, read_geometry=False)
    assert server["requests"] == []
    assert pyogrio.get_gdal_config_option("CPL_VSIL_CURL_ALLOWED_EXTENSIONS") == before


def test_upload_over_the_body_limit_is_413(stack_env, tmp_path):
    """The gateway's body limit (QED_MAX_CONTENT_LENGTH) stops a large upload before it is read."""
    from flask_qed.runtime import Runtime
    from flask_qed.tasks import create_celery
    from flask_qed.web import create_gateway
    small = create_gateway(create_celery(Runtime.load({**stack_env, "QED_MAX_CONTENT_LENGTH": "65536"})))
    parts = shapefile_parts(tmp_path)
    big = zipped({**parts, "c.shp.xml": np.random.default_rng(1).bytes(100_000)}, zipfile.ZIP_STORED)
    refused(post(small.test_client(), big, "c.zip"), status=413)
