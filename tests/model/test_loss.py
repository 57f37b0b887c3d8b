"""Loss: mean cross entropy over counted tokens, padded vocabulary never predicted, checkpointing changes nothing."""
import torch
import torch.nn.functional as F

from model import FLAVORS, GPTNeoX


def setup(vocab=300, seed=0):
    torch.manual_seed(seed)
    m = GPTNeoX(FLAVORS["debug"].with_vocab(vocab))
    ids = torch.randint(0, vocab, (2, 33), generator=torch.Generator().manual_seed(seed))
    return m, ids[:, :-1], ids[:, 1:]


def test_loss_is_cross_entropy_over_the_real_vocabulary():
    m, x, y = setup()
    with torch.no_grad():
        logits = m(x)
        expected = F.cross_entropy(logits[..., :300].reshape(-1, 300), y.reshape(-1))
        assert abs(m.loss(x, y).item() - expected.item()) < 1e-5
        with_padding = F.cross_entropy(logits.reshape(-1, 384), y.reshape(-1))  # padded columns' logits are 0
        assert abs(with_padding.item() - expected.item()) > 1e-3
    assert abs(expected.item() - torch.log(torch.tensor(300.0)).item()) < 0.3  # near uniform at init


def test_padded_rows_get_no_gradient():
    m, x, y = setup()
    m.loss(x, y).backward()
    grad = m.head.weight.grad
    assert torch.all(grad[300:] == 0) and grad[:300].abs().sum() > 0


def test_loss_mask_counts_only_selected_tokens():
    m, x, y = setup()
    mask = torch.zeros_like(y, dtype=torch.bool)
    mask[0, 5:9] = True
    mask[1, 20] = True
    with torch.no_grad():
        logits = m(x)[..., :300]
        expected = F.cross_entropy(logits[mask], y[mask])
        assert abs(m.loss(x, y, loss_mask=mask).item() - expected.item()) < 1e-5
        assert abs(m.loss(x, y, loss_mask=mask.float()).item() - expected.item()) < 1e-5
        ignored = y.clone()
        ignored[~mask] = -100
        assert abs(m.loss(x, ignored).item() - expected.item()) < 1e-5
        assert m.loss(x, y, loss_mask=torch.zeros_like(mask)).item() == 0.0


def test_gradient_checkpointing_gives_the_same_gradients():
    m, x, y = setup()
    m.train()
    m.loss(x, y, doc_starts=[[0, 7], [0]]).backward()
    plain = {n: p.grad.clone() for n, p in m.named_parameters()}
    m.zero_grad()
    m.gradient_checkpointing = True
    m.loss(x, y, doc_starts=[[0, 7], [0]]).backward()
    for name, p in m.named_parameters():
        assert torch.allclose(p.grad, plain[name], atol=1e-6), name


def test_a_few_steps_of_adamw_fit_a_tiny_batch():
    m, x, y = setup()
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
    first = m.loss(x, y).item()
    for _ in range(30):
        opt.zero_grad()
        loss = m.loss(x, y)
        loss.backward()
        opt.step()
    assert loss.item() < first / 2


def test_chunked_loss_gives_the_same_loss_and_gradients():
    m, x, y = setup()
    mask = torch.rand(y.shape, generator=torch.Generator().manual_seed(5)) > 0.3
    y = y.clone()
    y[1, -3:] = -100
    m.loss(x, y, loss_mask=mask).backward()
    whole = {n: p.grad.clone() for n, p in m.named_parameters()}
    expected = m.loss(x, y, loss_mask=mask).item()
    m.zero_grad()
    m.loss_chunk_tokens = 7  # 64 tokens: 9 full chunks and one of 1
    chunked = m.loss(x, y, loss_mask=mask)
    chunked.backward()
    assert abs(chunked.item() - expected) < 1e-5
    for name, p in m.named_parameters():
        assert torch.allclose(p.grad, whole[name], atol=1e-6), name
    assert torch.all(m.head.weight.grad[300:] == 0)


def test_token_losses_are_the_per_token_terms_of_loss_chunked_or_not():
    m, x, y = setup()
    y = y.clone()
    y[0, :4] = -100
    per_token = m.token_losses(x, y)
    logits = m(x)[..., :300]
    want = F.cross_entropy(logits.reshape(-1, 300), y.reshape(-1), ignore_index=-100, reduction="none")
    assert per_token.shape == (64,) and torch.allclose(per_token, want, atol=1e-6)
    assert (per_token[:4] == 0).all() and torch.allclose(per_token.sum() / 60, m.loss(x, y), atol=1e-6)
    per_token.sum().backward()
    whole = {n: p.grad.clone() for n, p in m.named_parameters()}
    m.zero_grad()
    m.loss_chunk_tokens = 7
    chunked = m.token_losses(x, y)
    chunked.sum().backward()
    assert torch.allclose(chunked, per_token, atol=1e-6)
    assert all(torch.allclose(p.grad, whole[n], atol=1e-6) for n, p in m.named_parameters())
