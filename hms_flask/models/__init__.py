"""HMS model declarations (see flask_qed.model): one module per model."""
from . import changing_volume, constant_volume, constant_volume_days, kinematic_wave, percent_area

MODULES = (percent_area, constant_volume, constant_volume_days, changing_volume, kinematic_wave)
