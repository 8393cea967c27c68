"""A world generated once for the world's tests: big enough for its rates to show."""

import pytest

from patron.world import WorldSummary, generate_world

WORLD_CUSTOMERS = 1000
WORLD_SEED = 42


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> WorldSummary:
    return generate_world(
        tmp_path_factory.mktemp("world"), customers=WORLD_CUSTOMERS, seed=WORLD_SEED
    )
