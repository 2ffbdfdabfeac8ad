"""Peak memory per process of one large job, end to end.

Starts ``qed up`` (Redis, one worker, gunicorn), POSTs a PRAM batch in ubertool's
column form (or one large HMS percent-area catchment), polls until it is finished,
reads the whole result, and samples the resident set size (RSS) of every process of
the stack meanwhile. Prints the peak per process (gateway = gunicorn, worker = celery)
and the time taken.

    .venv/bin/python benchmarks/bench_memory.py [--model kabam] [--rows 100000] [--csv]
    .venv/bin/python benchmarks/bench_memory.py --percent-area body|geojson|zip|gpkg [--vertices 999000]

``--csv`` also downloads the results as CSV (GET /jobs/<id>/results?f=csv), streamed.
``--percent-area`` sends one catchment of ``--vertices`` vertices (just under
QED_MAX_VERTICES by default) as GeoJSON in the JSON body, or uploaded as a GeoJSON
file, a zipped shapefile or a GeoPackage (multipart field ``geometry``).

The aims: a kabam batch of 100,000 rows with no process above 1 GB; the largest
percent-area catchment accepted with no process above 512 MB.
"""
from __future__ import annotations

import argparse
import io
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import orjson
import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_pram import batch  # noqa: E402
from benchmarks.stack import wait_ready  # noqa: E402
from flask_qed.embedded import free_port  # noqa: E402


def role(proc: psutil.Process) -> str:
    line = " ".join(proc.cmdline())
    if "gunicorn" in line:
        return "gateway (gunicorn master)" if proc.parent() and "flask_qed.cli" in " ".join(
            proc.parent().cmdline()) else "gateway (gunicorn worker)"
    if "celery" in line:
        return "worker (celery main)" if "flask_qed.cli" in " ".join(proc.parent().cmdline()) \
            else "worker (pool process)"
    if "redis-server" in line:
        return "redis"
    return "qed up"


class Sampler(threading.Thread):
    """Peak RSS of a process tree, sampled every 0.1 s."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root, self.peaks, self.stop = psutil.Process(root), {}, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for proc in procs:
                try:
                    rss = proc.memory_info().rss
                    key = (proc.pid, role(proc))
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                self.peaks[key] = max(self.peaks.get(key, 0), rss)


def catchment_rings(vertices: int, features: int = 1) -> list[np.ndarray]:
    """``features`` closed rings of ``vertices`` positions in all (each ring's last repeats
    its first). One: a slightly ragged circle of 1.5 degrees around 95W 38N, about 600
    NLDAS cells; more: small circles, each inside its own NLDAS cell."""
    each = vertices // features
    rings = []
    for i in range(features):
        t = np.linspace(0, 2 * np.pi, each - 1, endpoint=False)
        if features == 1:
            lon, lat, r = -95.0, 38.0, 1.5 * (1 + 0.002 * np.sin(40 * t))
        else:
            lon, lat, r = -120.0 + 0.125 * (i % 400) + 0.0625, 26.0 + 0.125 * (i // 400) + 0.0625, 0.05
        ring = np.column_stack([lon + r * np.cos(t), lat + r * np.sin(t)])
        rings.append(np.vstack([ring, ring[:1]]))
    return rings


def percent_area_request(form: str, vertices: int, features: int = 1) -> dict:
    """requests.post keyword arguments for catchments sent as ``form``."""
    rings = catchment_rings(vertices, features)
    feature = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"COMID": i + 1},
         "geometry": {"type": "Polygon", "coordinates": [ring]}} for i, ring in enumerate(rings)]}
    if form == "body":
        body = orjson.dumps({"inputs": {"geometry": feature, "grid": "nldas"}},
                            option=orjson.OPT_SERIALIZE_NUMPY)
        return {"data": body, "headers": {"Content-Type": "application/json"}}
    if form == "geojson":
        content, name = orjson.dumps(feature, option=orjson.OPT_SERIALIZE_NUMPY), "c.geojson"
    else:
        import pyogrio
        import shapely
        with tempfile.TemporaryDirectory() as folder:
            driver, name = ("GPKG", "c.gpkg") if form == "gpkg" else ("ESRI Shapefile", "c.shp")
            pyogrio.raw.write(os.path.join(folder, name),
                              geometry=shapely.to_wkb(np.array([shapely.Polygon(r) for r in rings],
                                                               dtype=object)),
                              field_data=[np.arange(1, len(rings) + 1, dtype=np.int64)], fields=["COMID"],
                              geometry_type="Polygon", crs="EPSG:4326", driver=driver)
            if form == "gpkg":
                content = Path(folder, name).read_bytes()
            else:
                import zipfile
                buf = io.BytesIO()
                with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                    for part in sorted(Path(folder).iterdir()):
                        zf.write(part, part.name)
                content, name = buf.getvalue(), "c.zip"
    return {"files": {"geometry": (name, content)}, "data": {"grid": "nldas"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="kabam")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--csv", action="store_true", help="also download the results as CSV")
    parser.add_argument("--percent-area", choices=("body", "geojson", "zip", "gpkg"),
                        help="one HMS percent-area catchment instead of a PRAM batch, sent this way")
    parser.add_argument("--vertices", type=int, default=999_000)
    parser.add_argument("--features", type=int, default=1, help="catchments sharing the vertices")
    args = parser.parse_args()
    if args.percent_area:
        path = "/hms/percent_area"
        request = percent_area_request(args.percent_area, args.vertices, args.features)
        size = len(request["data"]) if args.percent_area == "body" else len(request["files"]["geometry"][1])
        label = (f"percent_area, {args.vertices:,} vertices in {args.features:,} features as "
                 f"{args.percent_area} ({size / 1e6:.1f} MB)")
    else:
        path, request = f"/pram/{args.model}", {"json": {"inputs": batch(args.model, args.rows)}}
        label = f"{args.model}, {args.rows:,} rows"
    with tempfile.TemporaryDirectory() as instance:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("QED_")}
        env.update(QED_INSTANCE_PATH=instance, GUNICORN_WORKERS="1", GUNICORN_TIMEOUT="900")
        if not args.percent_area:  # the default body limit stays for a percent-area upload
            env["QED_MAX_CONTENT_LENGTH"] = str(2 * 1024 ** 3)
        proc = subprocess.Popen([sys.executable, "-m", "flask_qed.cli", "up", "--port", str(port),
                                 "--concurrency", "1"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, proc)
            sampler = Sampler(proc.pid)
            sampler.start()
            started = time.perf_counter()
            response = requests.post(base + path, timeout=900, **request)
            del request
            if response.status_code != 202:
                print(f"{label}: refused: {response.status_code} {response.text[:300]}")
                print_peaks(sampler)
                return
            url = f"{base}/jobs/{response.json()['job_id']}"
            while True:
                record = requests.get(url, timeout=900)
                status = record.json()["status"] if record.headers.get("content-length", "1") != "0" else "?"
                if status in ("SUCCESS", "FAILURE", "REVOKED"):
                    break
                time.sleep(0.5)
            size = len(record.content)
            csv_size = 0
            if args.csv and status == "SUCCESS":
                with requests.get(url + "/results?f=csv",
                                  timeout=900, stream=True) as table:
                    csv_size = sum(len(piece) for piece in table.iter_content(1 << 20))
            elapsed = time.perf_counter() - started
            print(f"{label}: {status} in {elapsed:.1f} s, result {size / 1e6:.0f} MB"
                  + (f", CSV {csv_size / 1e6:.0f} MB" if args.csv else ""))
            if status != "SUCCESS":
                print(record.text[:300])
            print_peaks(sampler)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(120)


def print_peaks(sampler: Sampler) -> None:
    sampler.stop.set()
    sampler.join()
    print(f"{'process':28} {'pid':>8} {'peak RSS (MB)':>14}")
    for (pid, name), rss in sorted(sampler.peaks.items(), key=lambda kv: -kv[1]):
        print(f"{name:28} {pid:8d} {rss / 1e6:14.0f}")


if __name__ == "__main__":
    main()
