"""HMS model declarations (see flask_qed.model): one module per model."""
from . import (catchment_series, changing_volume, constant_volume, constant_volume_days, curve_number,
               evapotranspiration, kinematic_wave, percent_area)

MODULES = (percent_area, catchment_series, constant_volume, constant_volume_days, changing_volume, kinematic_wave,
           curve_number, evapotranspiration)
