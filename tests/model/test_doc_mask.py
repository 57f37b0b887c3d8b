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


def test_doc_starts_as_a_padded_tensor():
    m = model()
    ids = torch.randint(0, 1000, (2, 20), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        listed = m(ids, doc_starts=[[0, 8], [0, 3, 12]])
        padded = m(ids, doc_starts=torch.tensor([[0, 8, -1], [0, 3, 12]]))
    assert torch.equal(listed, padded)


def _fake_flash_attn():
    """Reference flash_attn functions built on SDPA: they check the varlen plumbing (cu_seqlens, reshapes) on CPU."""
    import torch.nn.functional as F

    def func(q, k, v, causal):
        assert causal and q.dim() == 4  # [B, T, H, D]
        return F.scaled_dot_product_attention(*(x.transpose(1, 2) for x in (q, k, v)), is_causal=True).transpose(1, 2)

    def varlen(q, k, v, cu_q, cu_k, max_q, max_k, causal):
        assert causal and q.dim() == 3 and torch.equal(cu_q, cu_k) and cu_q.dtype == torch.int32
        out = torch.empty_like(q)
        bounds = cu_q.tolist()
        assert max_q == max(b - a for a, b in zip(bounds, bounds[1:]))
        for a, b in zip(bounds, bounds[1:]):
            out[a:b] = func(q[None, a:b], k[None, a:b], v[None, a:b], causal=True)[0]
        return out

    return func, varlen


def test_flash_attn_path_matches_sdpa(monkeypatch):
    import model.attention as attention

    m = model()
    ids = torch.randint(0, 1000, (2, 24), generator=torch.Generator().manual_seed(4))
    starts = [[0, 5, 17], [0, 11]]
    with torch.no_grad():
        sdpa_plain, sdpa_docs = m(ids), m(ids, doc_starts=starts)
        monkeypatch.setattr(attention, "use_flash_attn", lambda q, backend="auto": True)
        monkeypatch.setattr(attention, "_flash_attn", _fake_flash_attn)
        flash_plain, flash_docs = m(ids), m(ids, doc_starts=starts)
    assert torch.allclose(flash_plain, sdpa_plain, atol=1e-5)
    assert torch.allclose(flash_docs, sdpa_docs, atol=1e-5)
