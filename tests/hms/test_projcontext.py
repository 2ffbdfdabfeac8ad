"""The gateway's gevent worker and pyproj: a PROJ context made while one request (a
greenlet) first imported the HMS science must outlive that request. It did not:
the next request on the same thread crashed the process (SIGSEGV)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    from gevent import monkey; monkey.patch_all()
    import gc, gevent

    def first():  # a request that imports the science, and with it pyproj
        from hms_flask.science import percent_area  # noqa: F401
        from pyproj import CRS
        CRS.from_epsg(5070)

    def later():  # the requests after it, on the same thread
        from pyproj import CRS, Transformer
        for code in (4326, 5070, 6933, 3857):
            CRS.from_epsg(code)
        x, y = Transformer.from_crs("EPSG:4326", "EPSG:5070", always_xy=True).transform(-84.0, 34.0)
        print(round(x), round(y))

    gevent.spawn(first).join()
    gc.collect()
    for _ in range(3):
        gevent.spawn(later).join()
        gc.collect()
""")


def test_requests_after_the_first_use_of_pyproj_under_gevent_do_not_crash():
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    # NAD83 / Conus Albers of 84W 34N, three times
    assert done.stdout.split() == ["1097405", "1284354"] * 3
