"""HMS through the gateway: POST (JSON or an uploaded file), a real worker, poll /hms/data."""
from __future__ import annotations

import importlib
import io
import json
import zipfile

import pyogrio
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import mapping

from flask_qed.model import Model
from tests.conftest import wait_for

CELL = mapping(shapely.box(-90.0, 35.0, -89.875, 35.125))  # one NLDAS cell
CORNER = mapping(shapely.box(-90.0625, 34.9375, -89.9375, 35.0625))  # centred on a cell corner


def run(client, path, inputs) -> dict:
    response = client.post(path, json={"inputs": inputs})
    assert response.status_code == 202, response.get_json()
    assert response.headers["Location"].startswith("/hms/data?job_id=")
    record = wait_for(client, response.get_json()["job_id"], prefix="/hms")
    assert record["status"] == "SUCCESS", record.get("error")
    return record["data"]


def test_percent_area_at_its_name_and_original_path(client):
    for path in ("/hms/percent_area", "/hms/gis/percentage/"):
        points = run(client, path, {"geometry": CELL, "grid": "nldas"})["geometry"]["0"]["points"]
        assert len(points) == 1 and points[0]["percentArea"] == pytest.approx(100, abs=1e-9)
        assert (points[0]["longitude"], points[0]["latitude"]) == (-89.9375, 35.0625)


def test_corner_square_splits_into_four(client):
    points = run(client, "/hms/percent_area", {"geometry": CORNER, "grid": "nldas"})["geometry"]["0"]["points"]
    assert len(points) == 4
    assert sum(p["percentCatchment"] for p in points) == pytest.approx(100, rel=1e-9)
    assert all(p["percentCatchment"] == pytest.approx(25, abs=0.05) for p in points)




def test_uploaded_zipped_shapefile_matches_geojson(client, tmp_path):
    import numpy as np
    folder = tmp_path / "shp"
    folder.mkdir()
    geometry = np.array([shapely.box(-90.0625, 34.9375, -89.9375, 35.0625)], dtype=object)
    pyogrio.raw.write(str(folder / "catch.shp"), geometry=shapely.to_wkb(geometry),
                      field_data=[np.array([7001], dtype=np.int64)], fields=["COMID"],
                      geometry_type="Polygon", crs="EPSG:4326", driver="ESRI Shapefile")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f.name)
    response = client.post("/hms/percent_area", content_type="multipart/form-data",
                           data={"grid": "nldas", "geometry": (io.BytesIO(buf.getvalue()), "catch.zip")})
    assert response.status_code == 202, response.get_json()
    record = wait_for(client, response.get_json()["job_id"], prefix="/hms")
    assert record["status"] == "SUCCESS", record.get("error")
    from_file = record["data"]["geometry"]["7001"]["points"]
    from_json = run(client, "/hms/percent_area", {"geometry": CORNER})["geometry"]["0"]["points"]
    key = lambda p: (p["latitude"], p["longitude"])  # noqa: E731
    for a, b in zip(sorted(from_file, key=key), sorted(from_json, key=key)):
        assert key(a) == key(b) and a["containedArea"] == pytest.approx(b["containedArea"], rel=1e-9)


@pytest.mark.parametrize("inputs,field,words", [
    ({"geometry": {"type": "Polygon", "coordinates": []}, "grid": "nldas"}, "", "empty"),
    ({"geometry": mapping(shapely.box(10, 10, 11, 11)), "grid": "nldas"}, "", "outside"),
    ({"geometry": CELL, "grid": "daymet"}, "grid", "nldas"),
    ({"geometry": "not geojson", "grid": "nldas"}, "geometry", ""),
    ({"grid": "nldas"}, "geometry", "required"),
])
def test_percent_area_input_errors_are_422(client, inputs, field, words):
    response = client.post("/hms/percent_area", json={"inputs": inputs})
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    assert any(field in e["field"] and words in e["rule"].lower() for e in errors), errors


def test_bad_upload_is_422_and_wrong_media_type_is_415(client):
    response = client.post("/hms/percent_area", content_type="multipart/form-data",
                           data={"grid": "nldas", "geometry": (io.BytesIO(b"not a shapefile"), "x.zip")})
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "geometry"
    response = client.post("/hms/percent_area", content_type="multipart/form-data",  # refused before the file is used
                           data={"grid": "nldas", "cache": "perhaps", "geometry": (io.BytesIO(b"x"), "x.zip")})
    assert response.status_code == 400 and "cache: 'perhaps'" in response.get_json()["message"]
    response = client.post("/pram/rice", content_type="multipart/form-data",
                           data={"mai": "1"})
    assert response.status_code == 415


def test_constant_volume_at_its_original_path(client):
    inputs = {"startDate": "2010-01-01", "endDate": "2010-01-02", "timestep": 0.25,
              "boundary_flow": 12.5, "segments": 2}
    data = run(client, "/hms/hydrodynamic/constant_volume/", inputs)
    assert data["columns"] == ["DateTime", 0, 1] and len(data["data"]) == 4
    assert all(row[1:] == [12.5, 12.5] for row in data["data"])
    response = client.post("/hms/hydrodynamic/constant_volume", json={"inputs": {**inputs, "timestep": 0}})
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "timestep"


def test_kinematic_wave_routes_through_the_gateway(client):
    inputs = {"start_date": "2020-03-01", "end_date": "2020-03-02T00:00", "timestep": 900,
              "length": [1500, 2500], "width": [12, 15], "slope": [0.002, 0.001],
              "mannings_n": 0.035, "boundary_flow": 20.0}
    data = run(client, "/hms/kinematic_wave", inputs)
    flow = data["flow"]
    assert len(flow) == len(data["dates"]) == 97 and all(len(row) == 2 for row in flow)
    assert flow[-1] == pytest.approx([20.0, 20.0], rel=1e-3)  # steady state of a constant inflow
    json.dumps(data, allow_nan=False)  # no NaN or Infinity in the stored result


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)

VALID = {
    "percent_area": {"geometry": CORNER, "grid": "nldas"},
    "constant_volume": {"startDate": "2010-01-01", "endDate": "2010-01-02", "timestep": 21600,
                        "boundary_flow": 12.5, "segments": 2},
    "kinematic_wave": {"start_date": "2020-03-01", "end_date": "2020-03-01T06:00", "timestep": 900,
                       "length": [1500], "width": [12], "slope": [0.002], "mannings_n": 0.035,
                       "boundary_flow": 20.0},
}
VALID["changing_volume"] = VALID["kinematic_wave"]
VALID["curve_number"] = {"precipitation": [0, 25.0, 80.0], "curve_number": 75, "area": 2.0, "timestep": 86400}
VALID["evapotranspiration"] = {"algorithm": "priestley_taylor", "latitude": 38.5, "start_date": "2020-06-01",
                               "tmin": [12.0, 14.5], "tmax": [26.0, 29.5], "rs": [22.0, 25.5]}


@pytest.mark.parametrize("model", sorted(VALID))
def test_an_input_the_model_does_not_declare_is_a_422_naming_it(client, model):
    """A slip in an input's name is refused, as PRAM's models refuse it: run silently, the
    model would have used the input's default (``"gird": "gldas"``, the NLDAS grid run)."""
    response = client.post(f"/hms/{model}", json={"inputs": {**VALID[model], "gird": "gldas"}})
    assert response.status_code == 422, response.get_json()
    error, = [e for e in response.get_json()["errors"] if e["field"] == "gird"]
    assert error["rule"].startswith("unknown input"), error
    assert client.post(f"/hms/{model}", json={"inputs": VALID[model]}).status_code == 202


def test_an_upload_with_a_form_field_the_model_does_not_declare_is_a_422(client):
    buf = io.BytesIO(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": CORNER}]}).encode())
    response = client.post("/hms/percent_area", content_type="multipart/form-data",
                           data={"grid": "nldas", "gird": "gldas", "geometry": (buf, "catch.geojson")})
    assert response.status_code == 422, response.get_json()
    assert [e["field"] for e in response.get_json()["errors"]] == ["gird"]


@pytest.mark.parametrize("model", sorted(VALID))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_input_makes_a_500(gateway, model, data):
    """Valid inputs with some fields replaced by arbitrary JSON: 202, 400 or 422, never 500."""
    base = VALID[model]
    changed = data.draw(st.dictionaries(st.sampled_from(sorted(base)), json_values, max_size=2))
    inputs = {**base, **changed}
    response = gateway.test_client().post(f"/hms/{model}", data=json.dumps({"inputs": inputs}),
                                          content_type="application/json")
    assert response.status_code in (202, 400, 422), response.get_json()
    if response.status_code == 202:  # accepted inputs must also compute without an exception
        m = Model.from_module(importlib.import_module(f"hms_flask.models.{model}"))
        m.run(m.validate(json.loads(json.dumps(inputs))))
