"""Rail running-time physics.

The time between two stops of a service is computed from the distance, the line's operating
(cruise) speed, the rolling stock's mean acceleration and service braking rate::

    t = L / v + v / (2 a) + v / (2 b)            if the train reaches v
    t = v_p / a + v_p / b,  v_p = sqrt(2 L a b / (a + b))   otherwise (triangular profile)

Dwell time at intermediate stops is added separately (``dwell_min`` of the rolling stock in modes.yaml). Parameters are in
``networks/modes.yaml`` with their sources.
"""

from __future__ import annotations

import math


def run_time_s(length_km: float, speed_kmh: float, accel_ms2: float, decel_ms2: float) -> float:
    """Stop-to-stop running time in seconds.

    Parameters
    ----------
    length_km : float
        Track distance between the two stops (km, > 0).
    speed_kmh : float
        Cruise (operating) speed (km/h, > 0).
    accel_ms2, decel_ms2 : float
        Mean acceleration and service braking rate (m/s², > 0).

    Returns
    -------
    float
        Running time in seconds, from departure to arrival (no dwell).
    """
    if not all(math.isfinite(x) for x in (length_km, speed_kmh, accel_ms2, decel_ms2)):
        raise ValueError("run_time_s needs finite length, speed, acceleration and braking")
    if length_km < 0 or speed_kmh <= 0 or accel_ms2 <= 0 or decel_ms2 <= 0:
        raise ValueError("run_time_s needs length >= 0 and positive speed, acceleration and braking")
    length_m = length_km * 1000.0
    v = speed_kmh / 3.6
    d_acc = v * v / (2 * accel_ms2)
    d_dec = v * v / (2 * decel_ms2)
    if length_m >= d_acc + d_dec:
        return length_m / v + v / (2 * accel_ms2) + v / (2 * decel_ms2)
    v_peak = math.sqrt(2 * length_m * accel_ms2 * decel_ms2 / (accel_ms2 + decel_ms2))
    return v_peak / accel_ms2 + v_peak / decel_ms2
