"""Model tests run torch on one thread: their tiny ops only lose time waiting for a second core on a shared machine."""
import pytest
import torch


@pytest.fixture(scope="package", autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
