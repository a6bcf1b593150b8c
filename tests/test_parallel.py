"""Parallel tables equal the serial API (the kernel is shipped to worker processes)."""

import numpy as np
import pandas as pd

from tx_transport.parallel import travel_time_tables


def test_parallel_tables_equal_serial(net):
    places = ["tongxiang", "wuzhen", "tongxiang-station", "shanghai", "hangzhou-east"]
    par = travel_time_tables(net, ["baseline-2020", "plan-2025"], ("car", "rail"), places, places, processes=2)
    ser = travel_time_tables(net, ["baseline-2020", "plan-2025"], ("car", "rail"), places, places, processes=None)
    assert set(par) == {(s, p) for s in ("baseline-2020", "plan-2025") for p in ("car", "rail")}
    for k, df in par.items():
        ref = net.travel_times(places, places, scenario=k[0], profile=k[1])
        pd.testing.assert_frame_equal(df, ref, check_names=False)
        pd.testing.assert_frame_equal(df, ser[k])
    assert np.isnan(par[("plan-2025", "rail")].loc["tongxiang", "shanghai"])  # towns have no rail access
