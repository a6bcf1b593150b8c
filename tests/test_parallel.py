"""Parallel tables equal the serial API (the kernel is shipped to worker processes)."""

import numpy as np
import pandas as pd

from tx_transport.parallel import travel_time_tables


def test_parallel_tables_equal_serial(net):
    places = ["tongxiang", "wuzhen", "tongxiang-station", "shanghai", "hangzhou-east"]
    profiles = ("car", "rail", "door-to-door")
    par = travel_time_tables(net, ["baseline-2020", "plan-2025"], profiles, places, places, processes=2)
    ser = travel_time_tables(net, ["baseline-2020", "plan-2025"], profiles, places, places, processes=None)
    assert set(par) == {(s, p) for s in ("baseline-2020", "plan-2025") for p in profiles}
    for k, df in par.items():
        ref = net.travel_times(places, places, scenario=k[0], profile=k[1])
        pd.testing.assert_frame_equal(df, ref, check_names=False)
        pd.testing.assert_frame_equal(df, ser[k])
    assert np.isnan(par[("plan-2025", "rail")].loc["tongxiang", "shanghai"])  # towns have no rail access


def test_dask_client_tables_equal_serial(net):
    """The compiled kernel runs on Dask workers (scattered once) and gives the same tables."""
    distributed = __import__("pytest").importorskip("distributed")
    places = ["tongxiang", "wuzhen", "tongxiang-station", "hangzhou-east"]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        got = travel_time_tables(net, ["plan-2025"], ("car", "rail", "door-to-door"), places, places, client=client)
    for k, df in got.items():
        pd.testing.assert_frame_equal(df, net.travel_times(places, places, scenario=k[0], profile=k[1]), check_names=False)
