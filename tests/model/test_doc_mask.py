"""Document masking: a packed document gets exactly the logits it gets alone; rotary positions restart."""
import torch

from model import FLAVORS, GPTNeoX
from model.attention import doc_layout


def model():
    torch.manual_seed(0)
    return GPTNeoX(FLAVORS["debug"]).eval()


def test_second_document_sees_only_itself():
    m = model()
    g = torch.Generator().manual_seed(0)
    doc1, doc2 = torch.randint(0, 1000, (1, 23), generator=g), torch.randint(0, 1000, (1, 41), generator=g)
    row = torch.cat([doc1, doc2], dim=1)
    with torch.no_grad():
        packed = m(row, doc_starts=[[0, 23]])
        alone1, alone2 = m(doc1), m(doc2)
        unmasked = m(row)
    assert (packed[:, 23:] - alone2).abs().max().item() < 1e-5
    assert (packed[:, :23] - alone1).abs().max().item() < 1e-5
    assert (unmasked[:, 23:] - alone2).abs().max().item() > 1e-2  # without masking doc 2 does see doc 1


def test_rows_mask_independently_and_single_document_rows_are_plain_causal():
    m = model()
    ids = torch.randint(0, 1000, (3, 30), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        packed = m(ids, doc_starts=[torch.tensor([0, 10, 20]), [0], [0, 29, 30, 31]])
        plain = m(ids)
        third = m(ids[2:3, 29:])
    assert torch.allclose(packed[1], plain[1], atol=1e-6)
    assert torch.allclose(packed[0, 10:20], m(ids[0:1, 10:20])[0], atol=1e-5)
    assert torch.allclose(packed[2, 29:], third[0], atol=1e-5)  # starts at or past T (30, 31) are ignored
    assert torch.equal(m(ids, doc_starts=[[0], [0], []]), plain)


def test_layout_positions_and_varlen_boundaries():
    layout = doc_layout([[0, 3], [0, 2, 5]], 2, 6, torch.device("cpu"))
    assert layout.positions.tolist() == [[0, 1, 2, 0, 1, 2], [0, 1, 0, 1, 2, 0]]
    assert layout.doc_ids.tolist() == [[0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 1, 2]]
    assert layout.cu_seqlens.tolist() == [0, 3, 6, 8, 11, 12] and layout.max_seqlen == 3
    mask = layout.sdpa_mask[1, 0]
    assert mask[4].tolist() == [False, False, True, True, True, False]
    assert doc_layout([[0], [0]], 2, 6, torch.device("cpu")) is None


def test_loss_and_gradients_flow_with_doc_masking():
    m = model().train()
    ids = torch.randint(0, 1000, (2, 16), generator=torch.Generator().manual_seed(2))
    loss = m.loss(ids[:, :-1], ids[:, 1:], doc_starts=[[0, 5], [0, 9, 16]])
    loss.backward()
    assert torch.isfinite(loss) and m.blocks[0].attn.qkv.weight.grad.abs().sum() > 0
