import os

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

import tx_transport as tx  # noqa: E402


@pytest.fixture(scope="session")
def net():
    """The embedded network, loaded once per test session."""
    return tx.load_network(os.environ.get("TX_TEST_BUNDLE") or None)


@pytest.fixture
def close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")
