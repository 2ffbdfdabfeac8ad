"""catchment_series: known answers on synthetic grids, percent_area's weights, file forms,
refusals, and a run through the gateway and a real worker."""
from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
import shapely

from flask_qed.model import InputError, Model
from hms_flask.models import catchment_series as module
from hms_flask.models import percent_area as percent_area_module
from tests.conftest import wait_for
from tests.hms.netcdf_files import write_grid
from tests.hms.test_percent_area import ellipsoid_cell_km2, irregular_catchment

MODEL = Model.from_module(module)
PERCENT_AREA = Model.from_module(percent_area_module)
# NLDAS-aligned cells: centres at -84.9375 + 0.125 i, 33.0625 + 0.125 j
LON = -84.9375 + 0.125 * np.arange(16)
LAT = 33.0625 + 0.125 * np.arange(12)


def field(steps: int = 3) -> np.ndarray:
    """Value i + 100 j + 10000 t at column i, row j, step t: each cell and step told apart."""
    t, j, i = np.meshgrid(np.arange(steps), np.arange(len(LAT)), np.arange(len(LON)), indexing="ij")
    return (i + 100.0 * j + 10000.0 * t).astype(float)


def cell(i: int, j: int) -> shapely.Polygon:
    return shapely.box(LON[i] - 0.0625, LAT[j] - 0.0625, LON[i] + 0.0625, LAT[j] + 0.0625)


def run(tmp_path, geometry, values=None, **grid) -> dict:
    data = write_grid(tmp_path / "grid.nc", grid.pop("lon", LON), grid.pop("lat", LAT),
                      field() if values is None else values, **grid)
    inputs = {"geometry": geometry, "variable": grid.get("variable", "prcp"),
              "grid_file": base64.b64encode(data).decode()}
    return MODEL.run(MODEL.validate(inputs))


def series(result: dict, fid: str = "0") -> list:
    at = result["columns"].index(fid)
    return [row[at] for row in result["data"]]


def test_one_whole_cell_is_that_cells_values(tmp_path):
    result = run(tmp_path, shapely.geometry.mapping(cell(3, 5)))
    assert series(result) == pytest.approx([3 + 500.0, 10003 + 500.0, 20003 + 500.0], rel=1e-12)
    assert [row[0] for row in result["data"]] == ["2020-06-01 00:00", "2020-06-02 00:00", "2020-06-03 00:00"]
    assert result["metadata"]["units"]["value"] == "mm"


def test_two_whole_cells_are_weighted_by_their_ellipsoidal_areas(tmp_path):
    """Cells (2, 0) and (2, 9): the same width, 1.1 degrees of latitude apart, so their areas
    differ; the weights are the equal-area areas, which match the ellipsoid's (GRS80)."""
    both = shapely.MultiPolygon([cell(2, 0), cell(2, 9)])
    result = run(tmp_path, shapely.geometry.mapping(both))
    south = ellipsoid_cell_km2(LON[2] - 0.0625, LAT[0] - 0.0625, LON[2] + 0.0625, LAT[0] + 0.0625)
    north = ellipsoid_cell_km2(LON[2] - 0.0625, LAT[9] - 0.0625, LON[2] + 0.0625, LAT[9] + 0.0625)
    assert south > north * 1.005
    for t, value in enumerate(series(result)):
        expected = (south * (2 + 10000 * t) + north * (902 + 10000 * t)) / (south + north)
        assert value == pytest.approx(expected, rel=1e-6)


def test_weights_are_percent_areas_own(tmp_path):
    """An irregular catchment on an NLDAS-aligned file: its cell weights are percent_area's
    contained areas on NLDAS, cell for cell, and the value their weighted mean."""
    shape = irregular_catchment(lon0=-84.2, lat0=33.8, radius_km=12.0)
    geometry = shapely.geometry.mapping(shape)
    result = run(tmp_path, geometry)
    weights = result["metadata"]["weights"]["0"]["cell weights"]
    reference = PERCENT_AREA.run(PERCENT_AREA.validate({"geometry": geometry, "grid": "nldas"}))
    points = reference["geometry"]["0"]["points"]
    key = lambda p: (round(p["latitude"], 6), round(p["longitude"], 6))  # noqa: E731
    assert sorted(map(key, weights)) == sorted(map(key, points)) and len(points) > 4
    by_cell = {key(p): p["containedArea"] for p in points}
    for w in weights:
        assert w["containedArea"] == pytest.approx(by_cell[key(w)], rel=1e-9)
    values = field()
    total = sum(by_cell.values())
    for t, value in enumerate(series(result)):
        expected = sum(a * values[t, round((la - LAT[0]) / 0.125), round((lo - LON[0]) / 0.125)]
                       for (la, lo), a in by_cell.items()) / total
        assert value == pytest.approx(expected, rel=1e-9)


def test_missing_values_drop_their_cell_for_that_step(tmp_path):
    values = field()
    values[1, 5, 3] = -9999.0          # one of the two cells missing at step 1
    values[2, 5, 3] = values[2, 5, 4] = -9999.0   # both missing at step 2
    both = shapely.box(LON[3] - 0.0625, LAT[5] - 0.0625, LON[4] + 0.0625, LAT[5] + 0.0625)
    result = run(tmp_path, shapely.geometry.mapping(both), values, fill=-9999.0)
    got = series(result)
    assert got[0] == pytest.approx((503 + 504) / 2, rel=1e-9)   # same latitude: equal areas
    assert got[1] == pytest.approx(10504.0, rel=1e-12)
    assert got[2] is None
    assert result["metadata"]["weights"]["0"]["least coverage (%)"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("form", ["NETCDF3_CLASSIC", "NETCDF3_64BIT_OFFSET", "NETCDF4", "NETCDF4_CLASSIC"])
def test_every_netcdf_form_and_layout_gives_the_same_series(tmp_path, form):
    shape = shapely.geometry.mapping(irregular_catchment(lon0=-84.3, lat0=33.7, radius_km=9.0))
    plain = run(tmp_path, shape, fmt="NETCDF4")
    assert run(tmp_path, shape, fmt=form)["data"] == plain["data"]
    # latitudes north to south, and dimensions in another order
    flipped = run(tmp_path, shape, field()[:, ::-1, :], lat=LAT[::-1], fmt=form, order=("lon", "time", "lat"))
    assert [[t, pytest.approx(v, rel=1e-12)] for t, v in flipped["data"]] == plain["data"]
    # longitudes 0..360 east
    east = run(tmp_path, shape, lon=LON + 360.0, fmt=form)
    assert [[t, pytest.approx(v, rel=1e-9)] for t, v in east["data"]] == plain["data"]


def refusal(inputs: dict) -> str:
    with pytest.raises(InputError) as caught:
        MODEL.validate(inputs)
    return json.dumps(caught.value.errors)


def test_what_is_not_a_regular_netcdf_grid_is_refused(tmp_path):
    geometry = shapely.geometry.mapping(cell(3, 5))
    good = base64.b64encode(write_grid(tmp_path / "g.nc", LON, LAT, field())).decode()
    assert "not NetCDF" in refusal({"geometry": geometry, "variable": "prcp",
                                    "grid_file": base64.b64encode(b"PK\x03\x04 a zip").decode()})
    assert "not valid base64" in refusal({"geometry": geometry, "variable": "prcp", "grid_file": "%%%"})
    missing = refusal({"geometry": geometry, "variable": "tmax", "grid_file": good})
    assert "no variable 'tmax'" in missing and "prcp" in missing
    assert "time" in refusal({"geometry": geometry, "variable": "lat", "grid_file": good})
    uneven = LON.copy()
    uneven[5] += 0.01
    data = base64.b64encode(write_grid(tmp_path / "u.nc", uneven, LAT, field())).decode()
    assert "evenly spaced" in refusal({"geometry": geometry, "variable": "prcp", "grid_file": data})
    far = shapely.geometry.mapping(shapely.box(10, 10, 11, 11))
    assert "outside" in refusal({"geometry": far, "variable": "prcp", "grid_file": good})


def test_a_netcdf4_file_that_refers_to_other_files_is_refused(tmp_path):
    import h5py
    other = tmp_path / "secret.h5"
    with h5py.File(other, "w") as fh:
        fh["data"] = np.arange(3.0)
    path = tmp_path / "linked.nc"
    write_grid(path, LON, LAT, field())
    with h5py.File(path, "a") as fh:
        fh["elsewhere"] = h5py.ExternalLink(str(other), "/data")
    data = base64.b64encode(path.read_bytes()).decode()
    text = refusal({"geometry": shapely.geometry.mapping(cell(3, 5)), "variable": "prcp", "grid_file": data})
    assert "external link" in text and "secret" not in text
    stored = tmp_path / "external.nc"
    write_grid(stored, LON, LAT, field())
    with h5py.File(stored, "a") as fh:
        fh.create_dataset("raw", shape=(4,), dtype="f8", external=[(str(other), 0, 32)])
    data = base64.b64encode(stored.read_bytes()).decode()
    text = refusal({"geometry": shapely.geometry.mapping(cell(3, 5)), "variable": "prcp", "grid_file": data})
    assert "stored in other files" in text


def test_an_uploaded_grid_runs_through_the_gateway(client, tmp_path):
    data = write_grid(tmp_path / "grid.nc", LON, LAT, field(), fmt="NETCDF3_CLASSIC")
    geometry = json.dumps({"type": "Feature", "properties": {"COMID": 42},
                           "geometry": shapely.geometry.mapping(cell(3, 5))})
    answer = client.post("/hms/catchment_series", content_type="multipart/form-data",
                         data={"variable": "prcp", "geometry": geometry,
                               "grid_file": (io.BytesIO(data), "grid.nc")})
    assert answer.status_code == 202, answer.get_json()
    record = wait_for(client, answer.get_json()["job_id"], prefix="/hms")
    assert record["status"] == "SUCCESS", record.get("error")
    assert record["data"]["columns"] == ["DateTime", "42"]
    assert [row[1] for row in record["data"]["data"]] == pytest.approx([503.0, 10503.0, 20503.0], rel=1e-12)
    bad = client.post("/hms/catchment_series", content_type="multipart/form-data",
                      data={"variable": "prcp", "geometry": geometry,
                            "grid_file": (io.BytesIO(b"\x89HDF\r\n\x1a\n" + b"\0" * 64), "grid.nc")})
    assert bad.status_code == 422 and bad.is_json


def test_the_examples_grid_file_is_the_one_its_recipe_writes(tmp_path):
    """hms_flask/models/data/example_grid.nc is made by write_grid, not drawn by hand."""
    from pathlib import Path
    lon = -83.6875 + 0.125 * np.arange(4)
    lat = 33.5625 + 0.125 * np.arange(3)
    values = np.array([[[i + 10 * j + 100 * t for i in range(4)] for j in range(3)] for t in range(3)], dtype=float)
    made = write_grid(tmp_path / "example.nc", lon, lat, values, fmt="NETCDF3_CLASSIC")
    assert made == (Path(module.__file__).parent / "data" / "example_grid.nc").read_bytes()
    result = MODEL.run(MODEL.validate(dict(module.EXAMPLE)))
    assert result["columns"] == ["DateTime", "2088123"] and len(result["data"]) == 3


def test_an_ogc_execution_takes_the_grid_as_a_base64_value(client, tmp_path):
    data = write_grid(tmp_path / "grid.nc", LON, LAT, field(), fmt="NETCDF4")
    body = {"inputs": {"variable": "prcp", "geometry": shapely.geometry.mapping(cell(3, 5)),
                       "grid_file": {"value": base64.b64encode(data).decode(), "mediaType": "application/x-netcdf",
                                     "encoding": "base64"}}, "response": "document"}
    answer = client.post("/ogcapi/processes/hms.catchment_series/execution", json=body)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:400]
    result = answer.get_json()
    rows = result["data"] if "data" in result else result["outputs"]["data"]
    rows = rows.get("value", rows) if isinstance(rows, dict) else rows
    assert [row[1] for row in rows] == pytest.approx([503.0, 10503.0, 20503.0], rel=1e-12)
