"""The one training loop carries what later lessons need, without copying it: a sampler, SAM's second
forward/backward pass, EMA weights for evaluation, any loss, and multi-class data. Also label remapping."""
import numpy as np, pytest, torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import WeightedRandomSampler
from imbalance_course.data import ImageData, Split, load_dataset, make_synthetic, set_seed
from imbalance_course.models import create_model
from imbalance_course.train import Callback, evaluate, fit, unwrap


@pytest.fixture(scope='module')
def syn():
    return make_synthetic(512, ratio=7, difficulty=0.1, seed=0), make_synthetic(256, ratio=7, difficulty=0.1, seed=1)


class CountForward(Callback):
    "Counts the model's forward passes during training."
    def before_fit(self, t):
        self.n = 0
        t.model.register_forward_hook(lambda m, i, o: setattr(self, 'n', self.n + m.training))


class SAM(Callback):
    "Sharpness-aware minimisation (Foret et al. 2021) as a `before_step` hook: ascend to w+e, take the gradient there, come back."
    def __init__(self, rho=0.05): self.rho = rho
    def before_step(self, t):
        ps = [p for p in t.model.parameters() if p.grad is not None]
        norm = torch.norm(torch.stack([p.grad.norm() for p in ps]))
        es = [p.grad * self.rho / (norm + 1e-12) for p in ps]
        with torch.no_grad():
            for p, e in zip(ps, es): p.add_(e)
        t.opt.zero_grad(); t.loss_fn(t.model(t.xb), t.yb).backward()
        with torch.no_grad():
            for p, e in zip(ps, es): p.sub_(e)


class EMA(Callback):
    "Exponential moving average of the weights with torch's `AveragedModel`; evaluation uses the average."
    def before_fit(self, t):
        self.ema = AveragedModel(t.model, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
        t.eval_model = self.ema
    def after_step(self, t): self.ema.update_parameters(t.model)


def test_sampler_balances_batches(syn):
    tr, va = syn
    w = 1.0 / torch.bincount(tr.y).double()[tr.y]
    seen = []
    class Record(Callback):
        def before_batch(self, t): seen.append(t.yb.float().mean().item())
    fit(create_model(), tr, va, epochs=2, bs=64, sampler=WeightedRandomSampler(w, len(tr)), cbs=[Record()], progress=False)
    assert abs(np.mean(seen) - 0.5) < 0.1 and tr.y.float().mean() < 0.2  # balanced batches from an imbalanced split


def test_sam_takes_two_passes_per_step(syn):
    tr, va = syn
    plain, sam = CountForward(), CountForward()
    fit(create_model(), tr, va, epochs=1, bs=64, cbs=[plain], progress=False)
    t = fit(create_model(), tr, va, epochs=1, bs=64, cbs=[sam, SAM()], progress=False)
    assert plain.n == len(tr) // 64 and sam.n == 2 * plain.n and t.best > 0.5


def test_ema_weights_are_evaluated_and_kept(syn):
    tr, va = syn
    set_seed(0); ema = EMA()
    t = fit(create_model(), tr, va, epochs=2, bs=64, cbs=[ema], progress=False)
    assert t.eval_model is ema.ema and len(t.log) == 2
    set_seed(0); ema, raw = EMA(), []
    class LastRaw(Callback):
        def after_fit(self, t): raw.append({k: v.clone() for k, v in t.model.state_dict().items()})
    t = fit(create_model(), tr, None, epochs=2, bs=64, cbs=[ema, LastRaw()], progress=False)
    final, avg = t.model.state_dict(), unwrap(ema.ema).state_dict()
    assert all(torch.equal(final[k], avg[k]) for k in final)  # the run keeps the averaged weights ...
    assert not all(torch.equal(final[k], raw[0][k]) for k in final)  # ... not the last raw ones


def test_any_loss_callable(syn):
    tr, va = syn
    def weighted_ce(inp, targ): return torch.nn.functional.cross_entropy(inp, targ, weight=torch.tensor([1., 7.]))
    t = fit(create_model(), tr, va, epochs=1, bs=64, loss_fn=weighted_ce, progress=False)
    assert len(t.history) == 1 and np.isfinite(t.history[0]['train_loss'])


def test_multiclass_fit_and_evaluate():
    s = [make_synthetic(n, ratio=2, seed=i) for i, n in enumerate((384, 192, 192))]
    three = [Split(x.x, torch.where(x.y == 1, 2, torch.arange(len(x)) % 2), x.mask) for x in s]  # labels 0, 1, 2
    data = ImageData('three', ('a', 'b', 'lesion'), None, *three)
    set_seed(0); model = create_model(n_cls=3)
    t = fit(model, data.train, data.val, epochs=1, bs=64, progress=False)
    res = evaluate(model, data)
    assert res['threshold'] is None and {'recall_0', 'recall_1', 'recall_2', 'balanced_accuracy'} <= set(res['test'])
    assert 0 <= res['test']['auc'] <= 1 and 'val_auc' in t.history[0]


def test_breastmnist_malignant_is_positive(tmp_path):
    "BreastMNIST stores malignant as 0; the course remaps it to 1."
    raw = np.array([[0], [1], [1], [0]], np.uint8)
    np.savez(tmp_path/'breastmnist.npz', **{f'{s}_{k}': v for s in ('train', 'val', 'test')
                                             for k, v in (('images', np.zeros((4, 28, 28), np.uint8)), ('labels', raw))})
    d = load_dataset('breastmnist', data_dir=tmp_path)
    assert d.train.y.tolist() == [1, 0, 0, 1] and d.classes[d.pos_class] == 'malignant'
